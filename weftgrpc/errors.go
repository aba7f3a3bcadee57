package weftgrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrOverloaded is the error behind the Unavailable status that
// UnaryServerOverload and StreamServerOverload answer while the server is
// overloaded.
var ErrOverloaded = errors.New("weftgrpc: server overloaded")

// Error is a gRPC status error that wraps the weft error behind it: a call
// the breaker rejected (Code Unavailable, Err matching breaker.ErrOpen),
// a deadline of the interceptor's own that passed (DeadlineExceeded, Err
// matching timeout.ErrTimeout), retries given up (the last try's code, Err a
// *retry.Error naming every try), a rate limit (ResourceExhausted, Err
// matching limiter.ErrRateExceeded), or a server that shed the call.
//
// status.Code, status.FromError and status.Convert see Code, so code that
// inspects gRPC errors keeps working, and errors.Is and errors.As reach Err
// and whatever it wraps. A server interceptor that returns an *Error sends
// Code and Err's message to the client. Some *Error values are shared by
// every call they answer (so that refusing allocates nothing): treat them as
// read-only.
type Error struct {
	// Code is the gRPC status code of the error.
	Code codes.Code
	// Err is the error behind it.
	Err error
}

// Error returns the message in the form grpc-go's status errors use.
func (e *Error) Error() string {
	return fmt.Sprintf("rpc error: code = %s desc = %s", e.Code, e.desc())
}

// desc is Err's message, or the code's name when Err is nil.
func (e *Error) desc() string {
	if e.Err == nil {
		return e.Code.String()
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus returns the status of the error: Code with Err's message.
// When Err wraps a status error with the same code (the last try of a retry,
// say), its details are kept.
func (e *Error) GRPCStatus() *status.Status {
	if s, ok := status.FromError(e.Err); ok && s.Code() == e.Code {
		return s // FromError has already set the message to e.Err.Error()
	}
	return status.New(e.Code, e.desc())
}

// contextCode returns the gRPC code of an error caused by ctx ending:
// DeadlineExceeded or Canceled.
func contextCode(ctx context.Context) codes.Code {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return codes.Canceled
}

// codeSet is a set of gRPC codes, one bit per code (codes.Code values are
// below 17).
type codeSet uint32

func newCodeSet(cs ...codes.Code) codeSet {
	var s codeSet
	for _, c := range cs {
		if c >= 32 {
			panic(fmt.Sprintf("weftgrpc: code %d out of range", uint32(c)))
		}
		s |= 1 << c
	}
	return s
}

func (s codeSet) has(c codes.Code) bool { return c < 32 && s&(1<<c) != 0 }
