package weftgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// PushbackKey is the trailer in which a gRPC server tells its client how
// long to wait before retrying, in milliseconds (gRFC A6). The retry
// interceptors honour it, and the server interceptors of this package send
// it with the calls they refuse.
const PushbackKey = "grpc-retry-pushback-ms"

// A RetryOption configures UnaryClientRetry and StreamClientRetry.
type RetryOption func(*retryConfig)

type retryConfig struct {
	codes      codeSet
	attempt    time.Duration // per-attempt deadline; 0 for none
	idempotent func(method string) bool
	cache      atomic.Pointer[map[string]bool] // default idempotent's memo
}

// RetryCodes sets the status codes that are retried, replacing the default,
// which is Unavailable alone. Whatever the codes, ResourceExhausted is also
// retried when the server sent a valid pushback with it, since the server
// then asks for the retry. RetryCodes panics if a code is OK or not a gRPC
// code.
func RetryCodes(cs ...codes.Code) RetryOption {
	for _, c := range cs {
		if c == codes.OK || c > codes.Unauthenticated {
			panic(fmt.Sprintf("weftgrpc: RetryCodes(%v): not an error code", c))
		}
	}
	set := newCodeSet(cs...)
	return func(c *retryConfig) { c.codes = set }
}

// AttemptTimeout gives each try of a unary call a deadline of its own, d
// after it starts (within the caller's deadline, which still bounds the whole
// call). A try that runs out of it fails with DeadlineExceeded and an error
// matching timeout.ErrTimeout, and is retried as if its code were
// retryable. It does not apply to streams, whose lifetime the caller
// controls. AttemptTimeout panics if d is not positive.
func AttemptTimeout(d time.Duration) RetryOption {
	if d <= 0 {
		panic(fmt.Sprintf("weftgrpc: AttemptTimeout(%v): d must be > 0", d))
	}
	return func(c *retryConfig) { c.attempt = d }
}

// Idempotent sets which methods may be retried: fn receives the full method
// name ("/package.Service/Method") and reports whether calling the method
// twice does no more harm than calling it once. It replaces the default,
// which trusts the idempotency_level option of the method's definition in
// the .proto file (IDEMPOTENT or NO_SIDE_EFFECTS), as registered by its
// generated code. To retry every method, as grpc-go's service-config retry
// does, pass a fn that returns true. fn must be safe for concurrent use.
// Idempotent panics if fn is nil.
func Idempotent(fn func(method string) bool) RetryOption {
	if fn == nil {
		panic("weftgrpc: Idempotent(nil): nil function")
	}
	return func(c *retryConfig) { c.idempotent = fn }
}

// IdempotentMethods is Idempotent for a list of full method names
// ("/package.Service/Method"): those methods, and no other, may be retried.
// A name of the form "/package.Service/*" names every method of the
// service. IdempotentMethods panics if a name does not start with "/".
func IdempotentMethods(methods ...string) RetryOption {
	set := make(map[string]bool, len(methods))
	for _, m := range methods {
		if !strings.HasPrefix(m, "/") {
			panic(fmt.Sprintf("weftgrpc: IdempotentMethods(%q): want a full method name, /package.Service/Method", m))
		}
		set[m] = true
	}
	return func(c *retryConfig) {
		c.idempotent = func(method string) bool {
			if set[method] {
				return true
			}
			if i := strings.LastIndexByte(method, '/'); i > 0 {
				return set[method[:i+1]+"*"]
			}
			return false
		}
	}
}

func newRetryConfig(opts []RetryOption) *retryConfig {
	c := &retryConfig{codes: newCodeSet(codes.Unavailable)}
	for _, o := range opts {
		o(c)
	}
	if c.idempotent == nil {
		c.idempotent = c.protoIdempotent
	}
	return c
}

// protoIdempotent reports whether method's descriptor, found in
// protoregistry.GlobalFiles, declares it IDEMPOTENT or NO_SIDE_EFFECTS.
// Answers are memoised in a copy-on-write map; it runs only when a call
// failed with a retryable error.
func (c *retryConfig) protoIdempotent(method string) bool {
	if m := c.cache.Load(); m != nil {
		if v, ok := (*m)[method]; ok {
			return v
		}
	}
	v := lookupIdempotent(method)
	for {
		old := c.cache.Load()
		next := make(map[string]bool, 1)
		if old != nil {
			if len(*old) >= 4096 { // a bound against unbounded method names
				return v
			}
			for k, b := range *old {
				next[k] = b
			}
		}
		next[method] = v
		if c.cache.CompareAndSwap(old, &next) {
			return v
		}
	}
}

func lookupIdempotent(method string) bool {
	name := strings.TrimPrefix(method, "/")
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name[:i] + "." + name[i+1:]))
	if err != nil {
		return false
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return false
	}
	opts, ok := md.Options().(*descriptorpb.MethodOptions)
	if !ok {
		return false
	}
	switch opts.GetIdempotencyLevel() {
	case descriptorpb.MethodOptions_IDEMPOTENT, descriptorpb.MethodOptions_NO_SIDE_EFFECTS:
		return true
	}
	return false
}

// pushback reads the server's pushback from a trailer: d and ok when it
// holds a valid delay, present when it is there at all.
func pushback(md metadata.MD) (d time.Duration, present, ok bool) {
	v := md[PushbackKey]
	if len(v) == 0 {
		return 0, false, false
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64)
	if err != nil || ms < 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, true, false
	}
	return time.Duration(ms) * time.Millisecond, true, true
}

// notSent reports whether err says that the call never left the client
// (a breaker or rate limiter further down the chain refused it), so that
// retrying it is safe whatever the method does.
func notSent(err error) bool {
	return errors.Is(err, breaker.ErrOpen) || errors.Is(err, limiter.ErrRateExceeded)
}

// classify turns the error of one try into what retry.Policy.Do understands:
// the error itself (retry after the policy's delay), retry.After (retry
// after the server's pushback) or retry.Permanent (stop).
func (c *retryConfig) classify(ctx context.Context, method string, err error, trailer metadata.MD) error {
	if ctx.Err() != nil {
		return err // Do stops anyway, with ctx's cause
	}
	delay, present, valid := pushback(trailer)
	if present && !valid {
		return retry.Permanent(err) // the server said: do not retry
	}
	code := status.Code(err)
	retryable := c.codes.has(code) ||
		code == codes.ResourceExhausted && valid ||
		errors.Is(err, timeout.ErrTimeout)
	if !retryable || !notSent(err) && !c.idempotent(method) {
		return retry.Permanent(err)
	}
	if valid {
		return retry.After(delay, err)
	}
	return err // retry.Do honours an error's positive RetryAfter (an open breaker's) itself
}

// giveUp turns the error Do returned into the interceptor's: a try's own
// error as is, or an *Error with the last try's code (the context's, when
// it ended) around the *retry.Error.
func giveUp(ctx context.Context, err error) error {
	var re *retry.Error
	if !errors.As(err, &re) {
		return err
	}
	code := status.Code(re.Last)
	if ctx.Err() != nil {
		code = contextCode(ctx)
	}
	return &Error{Code: code, Err: err}
}

// unaryCall is what one retried unary call needs to read its trailers:
// pooled, so that a call whose first try succeeds does not allocate.
type unaryCall struct {
	md      metadata.MD
	trailer grpc.TrailerCallOption
	// only is []grpc.CallOption{&trailer}, the options of a call that has
	// none of its own; opts is reused for calls that have some.
	only, opts []grpc.CallOption
}

var unaryCalls = sync.Pool{New: func() any {
	c := new(unaryCall)
	c.trailer.TrailerAddr = &c.md
	c.only = []grpc.CallOption{&c.trailer}
	return c
}}

// options returns callOpts followed by the option that reads the trailer.
func (c *unaryCall) options(callOpts []grpc.CallOption) []grpc.CallOption {
	if len(callOpts) == 0 {
		return c.only
	}
	c.opts = append(append(c.opts[:0], callOpts...), c.only[0])
	return c.opts
}

// release drops what the call referred to and puts c back in the pool.
func (c *unaryCall) release() {
	for i := range c.opts {
		c.opts[i] = nil
	}
	c.opts, c.md = c.opts[:0], nil
	unaryCalls.Put(c)
}

// UnaryClientRetry returns a client interceptor that retries unary calls as
// p says (attempts, backoff, jitter, budget, MaxElapsed), with gRPC's rules
// for which failures may be retried:
//
//   - only the codes of RetryCodes (Unavailable by default) are retried, and
//     ResourceExhausted when the server sent a pushback with it;
//   - a server's grpc-retry-pushback-ms trailer replaces the policy's delay
//     (as retry.After does); a negative or malformed one stops the retries;
//   - only idempotent methods are retried (see Idempotent), unless the call
//     never left the client: a breaker.ErrOpen or limiter.ErrRateExceeded from
//     an interceptor further down the chain is retried whatever the method,
//     after the breaker's RetryAfter when it is positive (retry.Do's rule);
//   - with AttemptTimeout each try has a deadline of its own.
//
// A call that succeeds, or fails with an error that is not retried, returns
// the try's result unchanged. When the retries are given up, the error is an
// *Error whose Code is the last try's (or Canceled or DeadlineExceeded when
// the caller's context ended) around the policy's *retry.Error, which names
// every try and matches retry.ErrExhausted or retry.ErrBudgetExhausted.
//
// A call whose first try succeeds does not allocate. UnaryClientRetry panics
// if p is nil.
func UnaryClientRetry(p *retry.Policy, opts ...RetryOption) grpc.UnaryClientInterceptor {
	if p == nil {
		panic("weftgrpc: UnaryClientRetry(nil): nil Policy")
	}
	c := newRetryConfig(opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		call := unaryCalls.Get().(*unaryCall)
		opts := call.options(callOpts)
		err := p.Do(ctx, func(ctx context.Context) error {
			call.md = nil
			var err error
			if c.attempt > 0 {
				actx, cancel := context.WithTimeoutCause(ctx, c.attempt, timeout.ErrTimeout)
				err = timeoutError(ctx, actx, c.attempt, invoker(actx, method, req, reply, cc, opts...))
				cancel()
			} else {
				err = invoker(ctx, method, req, reply, cc, opts...)
			}
			if err == nil {
				return nil
			}
			return c.classify(ctx, method, err, call.md)
		})
		call.release()
		if err == nil {
			return nil
		}
		return giveUp(ctx, err)
	}
}

// StreamClientRetry returns a client interceptor that retries streaming
// calls as UnaryClientRetry retries unary ones, but only before the first
// response message arrives: once the caller has seen a message, a retry
// could show it the same messages twice, so later errors are returned as
// they are. A stream whose establishment fails is retried at once. A
// server-streaming call (one request, many responses) whose first RecvMsg
// fails is opened again, its request sent again, under the same policy:
// the request message is kept until then, so the caller must not change it
// after sending it. Client-streaming and bidirectional streams are only
// retried while being established, since a client may reuse a message once
// SendMsg has returned, which would make a replay send the wrong data.
// AttemptTimeout does not apply to streams.
//
// StreamClientRetry panics if p is nil.
func StreamClientRetry(p *retry.Policy, opts ...RetryOption) grpc.StreamClientInterceptor {
	if p == nil {
		panic("weftgrpc: StreamClientRetry(nil): nil Policy")
	}
	c := newRetryConfig(opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		if err != nil {
			// Retry the establishment, the failed try counting as the first.
			first := true
			err = p.Do(ctx, func(ctx context.Context) error {
				if first {
					first = false
					return c.classify(ctx, method, err, nil)
				}
				var err error
				cs, err = streamer(ctx, desc, cc, method, callOpts...)
				if err != nil {
					return c.classify(ctx, method, err, nil)
				}
				return nil
			})
			if err != nil {
				return nil, giveUp(ctx, err)
			}
		}
		if desc.ClientStreams {
			return cs, nil
		}
		return &retryStream{cur: cs, ctx: ctx, p: p, c: c, desc: desc, cc: cc, method: method, streamer: streamer, opts: callOpts}, nil
	}
}

// retryStream is a server-streaming call that is opened again when its
// first RecvMsg fails with an error that may be retried.
type retryStream struct {
	ctx      context.Context
	p        *retry.Policy
	c        *retryConfig
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption

	mu sync.Mutex // guards the fields below
	// cur is the stream of the current try.
	cur grpc.ClientStream
	// sent holds the messages sent, replayed on a retry; closed records
	// CloseSend. Both are dropped once committed.
	sent   []any
	closed bool
	// committed is set by the first RecvMsg: from then on, no retry.
	committed bool
}

func (s *retryStream) stream() grpc.ClientStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *retryStream) Header() (metadata.MD, error) { return s.stream().Header() }
func (s *retryStream) Trailer() metadata.MD         { return s.stream().Trailer() }
func (s *retryStream) Context() context.Context     { return s.stream().Context() }

func (s *retryStream) CloseSend() error {
	s.mu.Lock()
	s.closed = !s.committed
	cur := s.cur
	s.mu.Unlock()
	return cur.CloseSend()
}

func (s *retryStream) SendMsg(m any) error {
	s.mu.Lock()
	if !s.committed {
		s.sent = append(s.sent, m)
	}
	cur := s.cur
	s.mu.Unlock()
	return cur.SendMsg(m)
}

func (s *retryStream) RecvMsg(m any) error {
	s.mu.Lock()
	cur, committed := s.cur, s.committed
	s.mu.Unlock()
	if committed {
		return cur.RecvMsg(m)
	}
	first, eof := true, false
	err := s.p.Do(s.ctx, func(ctx context.Context) error {
		if !first {
			cs, err := s.reopen(ctx)
			if err != nil {
				return s.c.classify(ctx, s.method, err, nil) // cur stays the last stream opened
			}
			cur = cs
		}
		first = false
		err := cur.RecvMsg(m)
		if err == nil {
			return nil
		}
		if err == io.EOF {
			eof = true
			return nil
		}
		return s.c.classify(ctx, s.method, err, cur.Trailer())
	})
	s.mu.Lock()
	s.cur, s.committed, s.sent = cur, true, nil
	s.mu.Unlock()
	if err != nil {
		return giveUp(s.ctx, err)
	}
	if eof {
		return io.EOF
	}
	return nil
}

// reopen opens the stream again and replays what the caller sent.
func (s *retryStream) reopen(ctx context.Context) (grpc.ClientStream, error) {
	cs, err := s.streamer(ctx, s.desc, s.cc, s.method, s.opts...)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	sent, closed := s.sent, s.closed
	s.mu.Unlock()
	for _, m := range sent {
		if err := cs.SendMsg(m); err != nil && err != io.EOF {
			return nil, err
		}
	}
	if closed {
		if err := cs.CloseSend(); err != nil {
			return nil, err
		}
	}
	return cs, nil
}
