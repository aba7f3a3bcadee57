package weftgrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/weftgo/weft/limiter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// PeerIP returns the IP address of the client of a server call, from
// peer.FromContext, for use as the key of UnaryServerRate: every connection
// from one host shares a limit. IPv4 addresses mapped into IPv6 are
// unmapped. It returns the zero netip.Addr when the peer has no IP address
// (a Unix socket, an in-memory connection), so that all such clients share
// one key. PeerIP does not allocate.
func PeerIP(ctx context.Context) netip.Addr {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return netip.Addr{}
	}
	switch a := p.Addr.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(p.Addr.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// MetadataKey returns a key function for UnaryServerRate that reads the
// first value of the incoming metadata field name (a tenant, an API key),
// or "" when the call has none, so that all such calls share one key.
// MetadataKey panics if name is empty.
func MetadataKey(name string) func(context.Context) string {
	if name == "" {
		panic("weftgrpc: MetadataKey(\"\"): empty name")
	}
	return func(ctx context.Context) string {
		if v := metadata.ValueFromIncomingContext(ctx, name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
}

// refuse returns the error of a call that the key's limiter refused, and
// the trailer that tells the client when to come back.
func refuse(d limiter.Decision) (metadata.MD, error) {
	ms := (d.RetryAfter + time.Millisecond - 1) / time.Millisecond
	md := metadata.Pairs(PushbackKey, strconv.FormatInt(int64(ms), 10))
	return md, &Error{Code: codes.ResourceExhausted, Err: fmt.Errorf("%w: retry after %v", limiter.ErrRateExceeded, time.Duration(ms)*time.Millisecond)}
}

// UnaryServerRate returns a server interceptor that limits the calls of
// each key with k: key(ctx) says whose call it is (PeerIP for each client
// host, MetadataKey for a tenant or an API key named in metadata). A call
// over its key's limit is not handled: it fails with an *Error of code
// ResourceExhausted matching limiter.ErrRateExceeded, and a
// grpc-retry-pushback-ms trailer (PushbackKey) with the time, rounded up to
// the millisecond, until the key's limiter would admit a call, which
// UnaryClientRetry and grpc-go's own retry honour. An admitted call costs
// one k.Decide. UnaryServerRate panics if k or key is nil.
func UnaryServerRate[K comparable](k *limiter.Keyed[K], key func(context.Context) K) grpc.UnaryServerInterceptor {
	checkServerRate("UnaryServerRate", k, key)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if d := k.Decide(key(ctx)); !d.Allowed {
			md, err := refuse(d)
			_ = grpc.SetTrailer(ctx, md)
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerRate is UnaryServerRate for streams: opening a stream takes
// one event of its key's limiter; its messages are not limited.
// StreamServerRate panics if k or key is nil.
func StreamServerRate[K comparable](k *limiter.Keyed[K], key func(context.Context) K) grpc.StreamServerInterceptor {
	checkServerRate("StreamServerRate", k, key)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if d := k.Decide(key(ss.Context())); !d.Allowed {
			md, err := refuse(d)
			ss.SetTrailer(md)
			return err
		}
		return handler(srv, ss)
	}
}

func checkServerRate[K comparable](name string, k *limiter.Keyed[K], key func(context.Context) K) {
	if k == nil {
		panic(fmt.Sprintf("weftgrpc: %s: nil Keyed", name))
	}
	if key == nil {
		panic(fmt.Sprintf("weftgrpc: %s: nil key function", name))
	}
}

// An Acquirer bounds how many calls run at once: Acquire waits for a slot
// (or refuses one) and returns a function to call with the outcome once the
// work is over. *limiter.Bulkhead and *limiter.Adaptive are Acquirers.
type Acquirer interface {
	Acquire(ctx context.Context) (done func(err error), err error)
}

// serverFailures are the codes of a handler's error that say the server
// struggled, reported to an Acquirer as failures.
var serverFailures = newCodeSet(codes.Unknown, codes.DeadlineExceeded, codes.ResourceExhausted,
	codes.Internal, codes.Unavailable, codes.DataLoss)

// serverOutcome returns what an Acquirer should see for a handler that
// returned err: err when it says the server struggled, context.Canceled when
// the client gave up, nil otherwise (the client's own mistakes).
func serverOutcome(err error) error {
	if err == nil {
		return nil
	}
	switch code := status.Code(err); {
	case code == codes.Canceled:
		return context.Canceled
	case serverFailures.has(code):
		return err
	}
	return nil
}

// shed returns the error of a call the Acquirer did not admit.
func shed(ctx context.Context, err error) error {
	code := codes.Unavailable
	if !errors.Is(err, limiter.ErrFull) && ctx.Err() != nil {
		code = contextCode(ctx)
	}
	return &Error{Code: code, Err: err}
}

// UnaryServerConcurrency returns a server interceptor that runs each call
// in a slot of a: a *limiter.Bulkhead (a fixed number of calls at once, a
// bounded queue, and ErrFull beyond it) or a *limiter.Adaptive (a limit that
// follows latency). A call a refuses is not handled and fails with an *Error
// of code Unavailable around a's error (Canceled or DeadlineExceeded when
// the client gave up while queued). The handler's outcome goes to a's done
// function: its error when the code says the server struggled (Unknown,
// DeadlineExceeded, ResourceExhausted, Internal, Unavailable, DataLoss),
// context.Canceled when the client cancelled, nil otherwise.
// UnaryServerConcurrency panics if a is nil.
func UnaryServerConcurrency(a Acquirer) grpc.UnaryServerInterceptor {
	if a == nil {
		panic("weftgrpc: UnaryServerConcurrency(nil): nil Acquirer")
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		done, err := a.Acquire(ctx)
		if err != nil {
			return nil, shed(ctx, err)
		}
		defer func() { done(serverOutcome(err)) }()
		return handler(ctx, req)
	}
}

// StreamServerConcurrency is UnaryServerConcurrency for streams: a stream
// holds its slot until its handler returns. StreamServerConcurrency panics if
// a is nil.
func StreamServerConcurrency(a Acquirer) grpc.StreamServerInterceptor {
	if a == nil {
		panic("weftgrpc: StreamServerConcurrency(nil): nil Acquirer")
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx := ss.Context()
		done, err := a.Acquire(ctx)
		if err != nil {
			return shed(ctx, err)
		}
		defer func() { done(serverOutcome(err)) }()
		return handler(srv, ss)
	}
}

// errOverloaded is the error of every call shed by the overload
// interceptors: shared, so that shedding allocates nothing.
var errOverloaded = &Error{Code: codes.Unavailable, Err: ErrOverloaded}

// UnaryServerOverload returns a server interceptor that sheds calls while
// overloaded reports true (for example the Overloaded method of a
// github.com/weftgo/weft/monitor.Monitor, which watches scheduler latency):
// they are not handled and fail with an *Error of code
// Unavailable matching ErrOverloaded, which clients retry elsewhere or
// later. overloaded is called once per call and must be cheap and safe for
// concurrent use. UnaryServerOverload panics if overloaded is nil.
func UnaryServerOverload(overloaded func() bool) grpc.UnaryServerInterceptor {
	if overloaded == nil {
		panic("weftgrpc: UnaryServerOverload(nil): nil function")
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if overloaded() {
			return nil, errOverloaded
		}
		return handler(ctx, req)
	}
}

// StreamServerOverload is UnaryServerOverload for streams: a stream is shed
// when it opens while overloaded reports true. StreamServerOverload panics
// if overloaded is nil.
func StreamServerOverload(overloaded func() bool) grpc.StreamServerInterceptor {
	if overloaded == nil {
		panic("weftgrpc: StreamServerOverload(nil): nil function")
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if overloaded() {
			return errOverloaded
		}
		return handler(srv, ss)
	}
}
