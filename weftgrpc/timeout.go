package weftgrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/timeout"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// UnaryClientTimeout returns a client interceptor that gives each unary call
// a deadline d away (or the caller's, when that is sooner). When this
// deadline passes first, the call fails with an *Error of code
// DeadlineExceeded whose Err is a *timeout.Error, so errors.Is(err,
// timeout.ErrTimeout) tells it apart from the caller's own deadline, whose
// expiry is returned unchanged. It is timeout.Do around the call.
// UnaryClientTimeout panics if d is not positive.
func UnaryClientTimeout(d time.Duration) grpc.UnaryClientInterceptor {
	if d <= 0 {
		panic(fmt.Sprintf("weftgrpc: UnaryClientTimeout(%v): d must be > 0", d))
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		err := timeout.Do(ctx, d, func(ctx context.Context) error {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		})
		if err != nil && errors.Is(err, timeout.ErrTimeout) {
			return &Error{Code: codes.DeadlineExceeded, Err: err}
		}
		return err
	}
}

// StreamClientTimeout returns a client interceptor that bounds the whole
// life of each stream to d (or to the caller's deadline, when that is
// sooner), opening it included. When this deadline passes first, the
// stream's calls fail with an *Error of code DeadlineExceeded whose Err is a
// *timeout.Error matching timeout.ErrTimeout. The deadline's timer is
// released when RecvMsg returns an error (io.EOF included) or the deadline
// passes. StreamClientTimeout panics if d is not positive.
func StreamClientTimeout(d time.Duration) grpc.StreamClientInterceptor {
	if d <= 0 {
		panic(fmt.Sprintf("weftgrpc: StreamClientTimeout(%v): d must be > 0", d))
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		sctx, cancel := context.WithTimeoutCause(ctx, d, timeout.ErrTimeout)
		cs, err := streamer(sctx, desc, cc, method, callOpts...)
		if err != nil {
			err = timeoutError(sctx, d, err)
			cancel()
			return nil, err
		}
		return &timeoutStream{ClientStream: cs, ctx: sctx, cancel: cancel, d: d}, nil
	}
}

// timeoutError wraps err when ctx ended by its own deadline, set by the
// interceptor, rather than by its parent's.
func timeoutError(ctx context.Context, d time.Duration, err error) error {
	if err == nil || ctx.Err() == nil || context.Cause(ctx) != timeout.ErrTimeout {
		return err
	}
	return &Error{Code: codes.DeadlineExceeded, Err: &timeout.Error{Duration: d, Err: err}}
}

type timeoutStream struct {
	grpc.ClientStream
	ctx    context.Context
	cancel context.CancelFunc
	d      time.Duration
}

func (s *timeoutStream) SendMsg(m any) error {
	return timeoutError(s.ctx, s.d, s.ClientStream.SendMsg(m))
}

func (s *timeoutStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		err = timeoutError(s.ctx, s.d, err)
		s.cancel()
	}
	return err
}
