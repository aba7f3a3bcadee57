package weftgrpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftgo/weft/limiter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// A RateOption configures UnaryClientRate and StreamClientRate.
type RateOption func(*rateConfig)

type rateConfig struct {
	failFast bool
}

// FailFast makes the interceptor refuse a call at once, with an *Error of
// code ResourceExhausted matching limiter.ErrRateExceeded, when the limiter
// has no room for it now, instead of waiting for its turn.
func FailFast() RateOption {
	return func(c *rateConfig) { c.failFast = true }
}

// errRateExceeded is the error of every call refused by FailFast: shared, so
// that refusing allocates nothing.
var errRateExceeded = &Error{Code: codes.ResourceExhausted, Err: limiter.ErrRateExceeded}

// rateError turns the error of r.Wait into the interceptor's.
func rateError(ctx context.Context, err error) error {
	if errors.Is(err, limiter.ErrRateExceeded) {
		return &Error{Code: codes.ResourceExhausted, Err: err}
	}
	code := codes.Unavailable
	if ctx.Err() != nil {
		code = contextCode(ctx)
	}
	return &Error{Code: code, Err: err}
}

// UnaryClientRate returns a client interceptor that sends unary calls no
// faster than r allows. By default a call waits for its turn, as r.Wait
// does: if the caller's context ends first, the call fails with an *Error of
// code Canceled or DeadlineExceeded around the context's cause, and if the
// wait would outlast the caller's deadline it fails at once with
// ResourceExhausted matching limiter.ErrRateExceeded. With FailFast a call
// that does not fit now fails at once with that ResourceExhausted error.
// The call itself is not changed. The interceptor allocates nothing on
// either path when it need not wait. UnaryClientRate panics if r is nil.
func UnaryClientRate(r *limiter.Rate, opts ...RateOption) grpc.UnaryClientInterceptor {
	c := newRateConfig("UnaryClientRate", r, opts)
	if c.failFast {
		return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
			if !r.Allow() {
				return errRateExceeded
			}
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if err := r.Wait(ctx); err != nil {
			return rateError(ctx, err)
		}
		return invoker(ctx, method, req, reply, cc, callOpts...)
	}
}

// StreamClientRate is UnaryClientRate for streams: opening a stream waits
// for (or, with FailFast, needs) one event of r; the messages of a stream
// are not limited. StreamClientRate panics if r is nil.
func StreamClientRate(r *limiter.Rate, opts ...RateOption) grpc.StreamClientInterceptor {
	c := newRateConfig("StreamClientRate", r, opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		if c.failFast {
			if !r.Allow() {
				return nil, errRateExceeded
			}
		} else if err := r.Wait(ctx); err != nil {
			return nil, rateError(ctx, err)
		}
		return streamer(ctx, desc, cc, method, callOpts...)
	}
}

func newRateConfig(name string, r *limiter.Rate, opts []RateOption) *rateConfig {
	if r == nil {
		panic(fmt.Sprintf("weftgrpc: %s(nil): nil Rate", name))
	}
	c := new(rateConfig)
	for _, o := range opts {
		o(c)
	}
	return c
}
