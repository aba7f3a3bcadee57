package weftgrpc

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/weftgo/weft/breaker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A BreakerOption configures UnaryClientBreaker and StreamClientBreaker.
type BreakerOption func(*breakerConfig)

type breakerConfig struct {
	failures codeSet
}

// FailureCodes sets the status codes that count as failures of the
// dependency, replacing the default: Unavailable, DeadlineExceeded, Internal
// and ResourceExhausted. Every other code counts as a success (an
// InvalidArgument or a NotFound is the caller's doing, and says the server
// is up), except Canceled, which is ignored. FailureCodes panics if a code is
// OK, Canceled, or not a gRPC code.
func FailureCodes(cs ...codes.Code) BreakerOption {
	for _, c := range cs {
		if c == codes.OK || c == codes.Canceled || c > codes.Unauthenticated {
			panic(fmt.Sprintf("weftgrpc: FailureCodes(%v): want an error code other than Canceled", c))
		}
	}
	set := newCodeSet(cs...)
	return func(c *breakerConfig) { c.failures = set }
}

func newBreakerConfig(opts []BreakerOption) *breakerConfig {
	c := &breakerConfig{failures: newCodeSet(codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.ResourceExhausted)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// outcome returns the error the breaker should see for a call that returned
// err: err for a failure, context.Canceled to be ignored, nil for a success.
func (c *breakerConfig) outcome(err error) error {
	if err == nil {
		return nil
	}
	switch code := status.Code(err); {
	case code == codes.Canceled:
		return context.Canceled
	case c.failures.has(code):
		return err
	}
	return nil
}

// rejected wraps the error of a call the breaker refused.
func rejected(err error) error { return &Error{Code: codes.Unavailable, Err: err} }

// UnaryClientBreaker returns a client interceptor that sends unary calls
// through b. A call b rejects is not sent: it fails with an *Error of code
// Unavailable whose Err is b's *breaker.OpenError, so errors.Is(err,
// breaker.ErrOpen) holds and status.Code(err) is Unavailable. Every other
// call returns its own result, and counts toward b's state by its code, as
// FailureCodes describes: b sees the call's error for a failure, nil for a
// success, and context.Canceled for an ignored call (which b's default
// classification ignores).
//
// In the Closed state the interceptor allocates nothing. UnaryClientBreaker
// panics if b is nil.
func UnaryClientBreaker(b *breaker.Breaker, opts ...BreakerOption) grpc.UnaryClientInterceptor {
	if b == nil {
		panic("weftgrpc: UnaryClientBreaker(nil): nil Breaker")
	}
	c := newBreakerConfig(opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		var (
			called  bool
			callErr error
		)
		err := b.Do(ctx, func(ctx context.Context) error {
			called = true
			callErr = invoker(ctx, method, req, reply, cc, callOpts...)
			return c.outcome(callErr)
		})
		if !called {
			return rejected(err)
		}
		return callErr
	}
}

// StreamClientBreaker returns a client interceptor that opens streams
// through b, as UnaryClientBreaker sends unary calls: a stream b rejects is
// not opened, and fails with an *Error of code Unavailable matching
// breaker.ErrOpen. A stream's outcome is its final status, known when
// RecvMsg returns an error (io.EOF is a success), or when the stream could
// not be opened; a stream abandoned by cancelling its context is ignored.
// Until then the stream holds its place in b (a half-open probe's slot, in
// particular), so read every stream to its end or cancel it, as grpc-go
// requires anyway. StreamClientBreaker panics if b is nil.
func StreamClientBreaker(b *breaker.Breaker, opts ...BreakerOption) grpc.StreamClientInterceptor {
	if b == nil {
		panic("weftgrpc: StreamClientBreaker(nil): nil Breaker")
	}
	c := newBreakerConfig(opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		done, err := b.Allow()
		if err != nil {
			return nil, rejected(err)
		}
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		if err != nil {
			done(c.outcome(err))
			return nil, err
		}
		s := &breakerStream{ClientStream: cs, c: c, done: done}
		s.stop = context.AfterFunc(ctx, func() { s.finish(context.Canceled) })
		return s, nil
	}
}

// breakerStream reports its stream's outcome to the breaker once.
type breakerStream struct {
	grpc.ClientStream
	c    *breakerConfig
	once sync.Once
	done func(error)
	stop func() bool
}

// finish reports the outcome; only the first call counts.
func (s *breakerStream) finish(err error) {
	s.once.Do(func() { s.done(err) })
}

func (s *breakerStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.stop() // set before the stream was returned
		if err == io.EOF {
			s.finish(nil)
		} else {
			s.finish(s.c.outcome(err))
		}
	}
	return err
}
