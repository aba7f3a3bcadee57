package timeout

import "sync/atomic"

// A HedgeCounter counts what the calls of Hedge given it with CountInto
// did. Its zero value is ready to use; it is safe for concurrent use, and
// one counter may serve any number of Hedge calls at once. Stats reads it
// without a lock.
//
// A Hedge call without CountInto touches no counter and costs nothing more.
type HedgeCounter struct {
	calls     atomic.Uint64
	succeeded atomic.Uint64
	failed    atomic.Uint64
	panicked  atomic.Uint64
	hedges    atomic.Uint64
	won       atomic.Uint64
}

// HedgeStats is a snapshot of a HedgeCounter. Its counters only grow.
type HedgeStats struct {
	// Calls is the number of Hedge calls that have started.
	Calls uint64
	// Succeeded, Failed and Panicked count the calls that have ended, by
	// how they ended: returned a value, returned an error, or panicked
	// (with a *PanicError, or the first attempt's own panic or Goexit).
	// Calls minus their sum is the number of calls still running.
	Succeeded, Failed, Panicked uint64
	// Hedges is the number of extra attempts started, beyond each call's
	// first.
	Hedges uint64
	// Won is the number of calls that succeeded with the value of an extra
	// attempt rather than the first: one of the Succeeded.
	Won uint64
}

// Stats returns a snapshot of c's counters. The ended calls are read
// before Calls, so that Calls is never less than Succeeded + Failed +
// Panicked.
func (c *HedgeCounter) Stats() HedgeStats {
	var s HedgeStats
	s.Won = c.won.Load()
	s.Succeeded = c.succeeded.Load()
	s.Failed = c.failed.Load()
	s.Panicked = c.panicked.Load()
	s.Hedges = c.hedges.Load()
	s.Calls = c.calls.Load()
	return s
}

// CountInto makes Hedge count into c what the call does: the call itself,
// the extra attempts it starts, and how it ends (see HedgeStats). The same
// option value may be passed to many calls. CountInto panics if c is nil.
func CountInto(c *HedgeCounter) HedgeOption {
	if c == nil {
		panic("timeout: CountInto(nil)")
	}
	return func(h *hedgeConfig) { h.counter = c }
}
