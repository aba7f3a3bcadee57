package breaker

import (
	"errors"
	"fmt"
	"time"
)

// ErrOpen is matched (with errors.Is) by every error a Breaker returns when
// it rejects a call. The error itself is an *OpenError.
var ErrOpen = errors.New("breaker: open")

// OpenError is the error returned for a rejected call. It is immutable: one
// OpenError is shared by every call a breaker rejects in one Open period, so
// rejecting allocates nothing.
type OpenError struct {
	state State
	probe time.Time     // when the breaker lets probes through; zero when held open or half-open
	hold  time.Duration // RetryAfter of a breaker held open by ForceOpen
	b     *Breaker      // the breaker that rejected; nil for errHalfOpenFull
}

// errHalfOpenFull is the rejection of a half-open breaker whose probe slots
// are all taken: it has no fields that vary, so one value serves every call.
var errHalfOpenFull = &OpenError{state: HalfOpen}

// State returns the state that rejected the call: Open, or HalfOpen when
// every probe slot was taken.
func (e *OpenError) State() State { return e.state }

// RetryAfter returns how long from now until the breaker lets a probe
// through, zero once that time has come. It is zero when the breaker was
// half-open (a slot frees as soon as a probe finishes), and the OpenFor
// duration when the breaker is held open by ForceOpen, which has no end
// until Reset. retry.Do honours it as it honours retry.After.
//
// Once the probe time has come, RetryAfter also makes the breaker HalfOpen
// if its timer has not yet done so (a timer can fire late on a busy
// machine), so a caller that waits RetryAfter and calls again is let
// through instead of being rejected with a zero wait.
func (e *OpenError) RetryAfter() time.Duration {
	if e.probe.IsZero() {
		return e.hold
	}
	d := time.Until(e.probe)
	if d <= 0 {
		e.b.State() // moves an Open breaker whose time has ended to HalfOpen
		return 0
	}
	return d
}

// Error describes the rejection, with the time until the next probe
// rounded up to the millisecond.
func (e *OpenError) Error() string {
	switch {
	case e.state == HalfOpen:
		return "breaker: open (half-open, every probe slot taken)"
	case e.probe.IsZero():
		return "breaker: open (held open until Reset)"
	}
	return fmt.Sprintf("breaker: open (next probe in %v)", (e.RetryAfter() + time.Millisecond - 1).Truncate(time.Millisecond))
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }
