package retry

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrExhausted is the Cause of the *Error that Do returns when it stops
// retrying because a limit was reached: Attempts, MaxElapsed, or a context
// deadline that would pass before the next try could start.
var ErrExhausted = errors.New("retry: attempts exhausted")

// ErrBudgetExhausted is the Cause of the *Error that Do returns when the
// policy's Budget refused a retry.
var ErrBudgetExhausted = errors.New("retry: budget exhausted")

// Error is the error Do returns when it gives up on an error that could have
// been retried. errors.Is(err, e.Cause) and errors.Is(err, e.Last) both hold,
// so a caller can test for ErrExhausted, ErrBudgetExhausted or the context's
// cause, and for its own error, on the same value. When the context was
// cancelled with a cause other than its Err, errors.Is holds for both.
type Error struct {
	// Attempts is the number of tries made.
	Attempts int
	// Cause says why Do stopped: ErrExhausted, ErrBudgetExhausted, or
	// context.Cause of the context that was done.
	Cause error
	// Last is the error of the last try.
	Last error
	// Errors holds the error of each try in order, bounded: every error when
	// there were at most 8 tries, otherwise those of the first 4 and of the
	// last 4 tries. Errors of tries that asked for a delay with After are
	// stored without the After marker.
	Errors []error

	ctxErr error // ctx.Err() when it differs from Cause
}

// Error returns the cause, the number of tries and the last try's message.
func (e *Error) Error() string {
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	switch e.Cause {
	case ErrExhausted:
		return fmt.Sprintf("retry: %s failed, last: %v", attempts, e.Last)
	case ErrBudgetExhausted:
		return fmt.Sprintf("retry: budget exhausted after %s, last: %v", attempts, e.Last)
	}
	return fmt.Sprintf("retry: %v after %s, last: %v", e.Cause, attempts, e.Last)
}

// Unwrap returns the cause, the context's error when it differs from the
// cause, and the last try's error.
func (e *Error) Unwrap() []error {
	if e.ctxErr != nil {
		return []error{e.Cause, e.ctxErr, e.Last}
	}
	return []error{e.Cause, e.Last}
}

// historySize is the number of errors an Error keeps; half from the first
// tries and half from the last.
const historySize = 8

// history records the errors of the tries, bounded as Error.Errors says. The
// first historySize/2 errors stay in place; the rest form a ring. It lives
// on Do's stack, so that a call that succeeds after retries allocates
// nothing (compare row RetryFourTriesZeroDelay; TestAllocs guards it).
type history struct {
	n   int
	buf [historySize]error
}

func (h *history) add(err error) {
	const half = historySize / 2
	if h.n < historySize {
		h.buf[h.n] = err
	} else {
		h.buf[half+(h.n-half)%half] = err
	}
	h.n++
}

// fail builds the *Error for a loop that stopped for cause after h.n tries.
func (h *history) fail(cause, ctxErr error) *Error {
	const half = historySize / 2
	e := &Error{Attempts: h.n, Cause: cause, ctxErr: ctxErr}
	if h.n <= historySize {
		e.Errors = slices.Clone(h.buf[:h.n])
	} else {
		oldest := half + (h.n-half)%half
		e.Errors = slices.Concat(h.buf[:half], h.buf[oldest:], h.buf[half:oldest])
	}
	e.Last = e.Errors[len(e.Errors)-1]
	if ctxErr == cause {
		e.ctxErr = nil
	}
	return e
}

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: when a try returns it, even
// wrapped (fmt.Errorf("...: %w", retry.Permanent(err))), Do stops at once.
// Do returns err itself when the try returned Permanent(err) directly, and
// the try's error as is when it wrapped the marker; errors.Is(returned, err)
// holds either way. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// after carries a delay asked for by the callee.
type after struct {
	d   time.Duration
	err error
}

func (a *after) Error() string { return a.err.Error() }
func (a *after) Unwrap() error { return a.err }

// After reports err and asks Do to wait d before the next try instead of the
// policy's computed delay, as an HTTP Retry-After header or a gRPC pushback
// does. The marker works wrapped too. An error that has a method
// RetryAfter() time.Duration (as an open breaker's or a rate limiter's
// refusal does) asks the same without After, when the method returns a
// positive delay. The delay counts against the same
// limits as any other: if it would end past the context's deadline or past
// MaxElapsed, Do does not wait and returns the last error with ErrExhausted.
// It is capped at the policy's maximum delay only with CapAfter. A negative d
// is taken as zero. The try still counts as an attempt, and If still decides
// whether err is retried. After(d, nil) is nil.
func After(d time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &after{max(d, 0), err}
}

// delayer is implemented by an error that asks for a delay without the
// After marker.
type delayer interface{ RetryAfter() time.Duration }

// markers walks err's tree once, depth first, and reports whether it holds
// a Permanent marker, and the first delay asked for in it, by an After
// marker or a positive RetryAfter method (asked reports whether there was
// one). One walk with one type switch per error, without errors.As's
// allocations, keeps a call that succeeds after retries at 0 allocs and
// near the cost of a loop (compare row RetryFourTriesZeroDelay; TestAllocs
// guards the allocations).
func markers(err error) (perm bool, d time.Duration, asked bool) {
	for err != nil {
		var next error
		switch m := err.(type) {
		case *permanent:
			return true, d, asked
		case *after:
			if !asked {
				d, asked = m.d, true
			}
			err = m.err
			continue
		case delayer:
			if md := m.RetryAfter(); !asked && md > 0 {
				d, asked = md, true
			}
			switch u := err.(type) { // a delayer that also wraps: walk on
			case interface{ Unwrap() error }:
				next = u.Unwrap()
			case interface{ Unwrap() []error }:
				return joined(u.Unwrap(), d, asked)
			}
		case interface{ Unwrap() error }:
			next = m.Unwrap()
		case interface{ Unwrap() []error }:
			return joined(m.Unwrap(), d, asked)
		}
		err = next
	}
	return false, d, asked
}

// joined is markers for the errors an error joins, given what was found
// above them.
func joined(errs []error, d time.Duration, asked bool) (perm bool, _ time.Duration, _ bool) {
	for _, err := range errs {
		p, md, ok := markers(err)
		if !asked && ok {
			d, asked = md, true
		}
		if p {
			return true, d, asked
		}
	}
	return false, d, asked
}

// unmark strips a marker that err is itself (not one it wraps).
func unmark(err error) error {
	switch m := err.(type) {
	case *permanent:
		return m.err
	case *after:
		return m.err
	}
	return err
}
