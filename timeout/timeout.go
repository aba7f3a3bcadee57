package timeout

import (
	"context"
	"strings"
	"time"
)

// ErrTimeout is the cause of a context whose deadline was set by Do, Get or
// Transport when that deadline passes: inside fn, context.Cause(ctx) returns
// ErrTimeout once the time is up. The *Error those functions then return
// also satisfies errors.Is(err, ErrTimeout). ErrTimeout itself satisfies
// errors.Is(ErrTimeout, context.DeadlineExceeded).
var ErrTimeout error = &sentinel{"timeout: deadline exceeded"}

// sentinel is the type of ErrTimeout: a deadline error that code written for
// context.DeadlineExceeded recognises too.
type sentinel struct{ msg string }

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is context.DeadlineExceeded.
func (e *sentinel) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as net.Error's method does for a timeout.
func (e *sentinel) Timeout() bool { return true }

// Error is the error Do, Get and Transport return when the deadline they set
// passed before fn returned successfully. errors.Is(err, ErrTimeout) and
// errors.Is(err, context.DeadlineExceeded) both hold, errors.As(err, &e)
// gives the configured Duration, and the error fn returned stays reachable
// through errors.Is and errors.As.
type Error struct {
	// Duration is the time limit that was exceeded, as passed to Do, Get or
	// Transport.
	Duration time.Duration
	// Err is the error fn returned after the deadline passed (usually the
	// context's error, or an error wrapping it), or nil when fn was not
	// called because Duration was not positive.
	Err error
}

// Error returns the duration that was exceeded, followed by fn's error when
// that says more than the context's own error does. A message that ends
// with the context's error (as net/http's do: "Get ...: timeout: deadline
// exceeded") is given without that end, which would say it twice.
func (e *Error) Error() string {
	msg := "timeout: " + e.Duration.String() + " deadline exceeded"
	if e.Err == nil || e.Err == context.DeadlineExceeded || e.Err == ErrTimeout {
		return msg
	}
	inner := e.Err.Error()
	for _, end := range [...]string{ErrTimeout.Error(), context.DeadlineExceeded.Error()} {
		if cut, ok := strings.CutSuffix(inner, ": "+end); ok {
			inner = cut
			break
		}
	}
	return msg + ": " + inner
}

// Is reports whether target is ErrTimeout or context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// Unwrap returns the error fn returned, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports true, so that net/http and net callers that test for a
// net.Error timeout recognise an *Error.
func (e *Error) Timeout() bool { return true }

// Do calls fn in the calling goroutine with a context derived from ctx whose
// deadline is at most d away, and returns fn's result.
//
// Do starts no goroutine and cannot stop fn: it returns only after fn has
// returned, so fn must honour ctx (return soon after ctx.Done is closed) for
// the deadline to bound how long Do takes.
//
// When fn returns an error after Do's own deadline has passed, Do returns an
// *Error wrapping it, which satisfies errors.Is(err, ErrTimeout) and
// errors.Is(err, context.DeadlineExceeded); inside fn, context.Cause(ctx)
// reports ErrTimeout from that moment. When ctx ended first (the caller's own
// deadline, which may be earlier than d, or its cancellation), Do returns fn's
// error unchanged and it is not ErrTimeout. When fn returns nil, Do returns
// nil, even if the deadline passed at the same instant.
//
// When d <= 0, Do does not call fn: it returns an *Error at once, or, if ctx
// is already done, context.Cause(ctx), just as a context created with a
// deadline already past would have made fn fail. Do panics with "timeout:
// nil context" or "timeout: nil function" if ctx or fn is nil.
func Do(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) error {
	if ctx == nil {
		panic("timeout: nil context")
	}
	if fn == nil {
		panic("timeout: nil function")
	}
	if d <= 0 {
		return expired(ctx, d)
	}
	tctx, cancel := context.WithTimeoutCause(ctx, d, ErrTimeout)
	defer cancel()
	return wrap(ctx, tctx, d, fn(tctx))
}

// Get is Do for a function that returns a value: it calls fn in the calling
// goroutine under a deadline at most d away and returns fn's value together
// with the error Do would return. The value is fn's even when the error is an
// *Error; when d <= 0 it is the zero value of T. Get panics with "timeout:
// nil context" or "timeout: nil function" if ctx or fn is nil.
func Get[T any](ctx context.Context, d time.Duration, fn func(ctx context.Context) (T, error)) (T, error) {
	if ctx == nil {
		panic("timeout: nil context")
	}
	if fn == nil {
		panic("timeout: nil function")
	}
	if d <= 0 {
		var zero T
		return zero, expired(ctx, d)
	}
	tctx, cancel := context.WithTimeoutCause(ctx, d, ErrTimeout)
	defer cancel()
	v, err := fn(tctx)
	return v, wrap(ctx, tctx, d, err)
}

// expired is the result of a call whose time limit d is not positive.
func expired(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return &Error{Duration: d}
}

// wrap returns err, as an *Error for the time limit d when ctx, made from
// parent by WithTimeoutCause(parent, d, ErrTimeout), ended by its own
// deadline (see ours). A nil err stays nil.
func wrap(parent, ctx context.Context, d time.Duration, err error) error {
	if err != nil && ours(parent, ctx) {
		return &Error{Duration: d, Err: err}
	}
	return err
}

// ours reports whether ctx, made from parent by WithTimeoutCause(parent, d,
// ErrTimeout), ended because its own deadline passed rather than because
// parent ended. A deadline that is not earlier than parent's is parent's:
// context.WithDeadline then sets no timer of its own, and when both are equal
// the caller's deadline is the one reported.
func ours(parent, ctx context.Context) bool {
	if context.Cause(ctx) != ErrTimeout {
		return false
	}
	pd, ok := parent.Deadline()
	if !ok {
		return true
	}
	cd, _ := ctx.Deadline()
	return cd.Before(pd)
}
