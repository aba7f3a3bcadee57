package weftgrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/timeout"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryClientTimeout returns a client interceptor that gives each unary call
// a deadline d away (or the caller's, when that is sooner). When this
// deadline passes first, the call fails with an *Error of code
// DeadlineExceeded whose Err is a *timeout.Error, so errors.Is(err,
// timeout.ErrTimeout) tells it apart from the caller's own deadline, whose
// expiry is returned unchanged. A DeadlineExceeded that the server sends
// before the client's timer fires (the server learns of the deadline with the
// call) counts as this deadline's when it is the sooner one.
// UnaryClientTimeout panics if d is not positive.
func UnaryClientTimeout(d time.Duration) grpc.UnaryClientInterceptor {
	if d <= 0 {
		panic(fmt.Sprintf("weftgrpc: UnaryClientTimeout(%v): d must be > 0", d))
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		cctx, cancel := context.WithTimeoutCause(ctx, d, timeout.ErrTimeout)
		err := timeoutError(ctx, cctx, d, invoker(cctx, method, req, reply, cc, callOpts...))
		cancel()
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
			err = timeoutError(ctx, sctx, d, err)
			cancel()
			return nil, err
		}
		return &timeoutStream{ClientStream: cs, parent: ctx, ctx: sctx, cancel: cancel, d: d}, nil
	}
}

// timeoutError wraps err, the error of a call made under ctx, a child of
// parent with a deadline d away, when that deadline rather than parent's
// ended the call: ctx ended with timeout.ErrTimeout as its cause, or the
// server answered DeadlineExceeded ahead of the client's timer while parent
// is alive and ctx's deadline is the sooner.
func timeoutError(parent, ctx context.Context, d time.Duration, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if context.Cause(ctx) != timeout.ErrTimeout {
			return err
		}
	} else if parent.Err() != nil || status.Code(err) != codes.DeadlineExceeded || !soonerDeadline(parent, ctx) {
		return err
	}
	if errors.Is(err, timeout.ErrTimeout) {
		return err
	}
	return &Error{Code: codes.DeadlineExceeded, Err: &timeout.Error{Duration: d, Err: err}}
}

// soonerDeadline reports whether ctx's deadline is before parent's.
func soonerDeadline(parent, ctx context.Context) bool {
	cd, _ := ctx.Deadline()
	pd, ok := parent.Deadline()
	return !ok || cd.Before(pd)
}

type timeoutStream struct {
	grpc.ClientStream
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	d      time.Duration
}

func (s *timeoutStream) SendMsg(m any) error {
	return timeoutError(s.parent, s.ctx, s.d, s.ClientStream.SendMsg(m))
}

func (s *timeoutStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		err = timeoutError(s.parent, s.ctx, s.d, err)
		s.cancel()
	}
	return err
}
