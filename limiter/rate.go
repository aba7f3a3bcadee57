package limiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/gcra"
)

// Inf is the rate of a limiter that admits every event at once, whatever its
// burst: NewRate(Inf, 1).AllowN(n) is true for every n >= 0. NewRate treats
// math.Inf(1) as Inf too.
const Inf = math.MaxFloat64

// ErrRateExceeded reports that a rate limiter refused an event: WaitN was
// asked for more events than the burst, or for a wait that would end after the
// context's deadline. Match it with errors.Is.
var ErrRateExceeded = errors.New("limiter: rate exceeded")

// maxTolerance bounds burst·interval (about 73 years) so that no sum in the
// admission rule can overflow an int64 during the process's lifetime.
const maxTolerance = 1 << 61

// Every returns the rate, in events per second, of one event every d.
// Every(d) for d <= 0 returns Inf.
func Every(d time.Duration) float64 {
	if d <= 0 {
		return Inf
	}
	return float64(time.Second) / float64(d)
}

// Rate is a lock-free rate limiter: it admits events at perSecond on average,
// and up to burst events at once after a quiet spell. It is safe for
// concurrent use. Create one with NewRate: a zero Rate panics on first use.
//
// Rate implements the generic cell rate algorithm (GCRA). The emission
// interval T is 1s/perSecond rounded to the nearest nanosecond (at least 1ns),
// and the only state is the theoretical arrival time tat, in nanoseconds since
// the limiter was created, starting at 0 (a full bucket). AllowN(n) at time
// now computes tat' = max(tat, now) + n·T and admits the events if and only if
// tat' − now <= burst·T, storing tat' only on admission; n > burst is never
// admitted. Hence over any window of length t at most burst + t/T events are
// admitted, each counted at the time its call read the clock. A reading that
// has gone stale by the time it is used (the goroutine was descheduled in
// between) never moves tat backwards, but dates its events back by that
// delay, so over real time the bound grows by the delay divided by T.
type Rate struct {
	tat atomic.Int64 // theoretical arrival time, ns since epoch
	// admitted counts the events admitted once counting is set. It sits
	// beside tat, whose cache line an admission has just written: one
	// line further away, parallel admissions made two lines bounce between
	// cores and took 4x as long (weftotel's BenchmarkFastPath/RateAllow).
	admitted  atomic.Uint64
	interval  int64 // emission interval T in ns; 0 means Inf
	tolerance int64 // burst·T in ns
	burst     int
	epoch     time.Time // carries a monotonic clock reading
	// counting is set by the first Stats call; from then on admitted and
	// rejected count the events admitted and refused. Counting from the
	// start cost RateAllow (internal/compare) 11%: one atomic add on every
	// admission, where the flag costs one load.
	counting atomic.Bool
	// keyedUsed marks the limiter of a Keyed's key used since the Keyed's
	// eviction last passed it; only the Keyed, under its shard's lock,
	// reads and writes it. It sits beside counting, which every admission
	// reads, and in its padding.
	keyedUsed bool
	rejected  atomic.Uint64
}

// NewRate returns a limiter that admits perSecond events per second with
// bursts of up to burst events; it starts full, so burst events are admitted
// at once. It panics if perSecond is not positive (use Inf for no limit), if
// burst < 1, or if burst events take longer than about 73 years to earn.
func NewRate(perSecond float64, burst int) *Rate {
	if !(perSecond > 0) {
		panic(fmt.Sprintf("limiter: NewRate(%v, %d): perSecond must be positive or Inf", perSecond, burst))
	}
	if burst < 1 {
		panic(fmt.Sprintf("limiter: NewRate(%v, %d): burst must be at least 1", perSecond, burst))
	}
	r := &Rate{burst: burst, epoch: time.Now()}
	var ok bool
	r.interval, r.tolerance, ok = gcra.Params(perSecond, burst, maxTolerance)
	if !ok {
		panic(fmt.Sprintf("limiter: NewRate(%v, %d): burst/perSecond must not exceed 73 years", perSecond, burst))
	}
	return r
}

// Burst returns the most events the limiter admits at once.
func (r *Rate) Burst() int { return r.burst }

// Limit returns the rate the limiter enforces, in events per second: the
// perSecond given to NewRate, as rounded to a whole number of nanoseconds
// per event, or Inf.
func (r *Rate) Limit() float64 {
	if r.interval == 0 {
		return Inf
	}
	return float64(time.Second) / float64(r.interval)
}

// Allow reports whether one event may happen now, and if so records it.
// A refusal changes nothing.
func (r *Rate) Allow() bool { return r.AllowN(1) }

// AllowN reports whether n events may happen now, and if so records them.
// A refusal changes nothing. AllowN(0) is true; n > Burst() is always refused
// (unless the rate is Inf); AllowN panics if n is negative.
func (r *Rate) AllowN(n int) bool {
	if n > r.burst || n <= 0 || r.interval == 0 {
		r.check() // a zero Rate has burst 0: it always comes here
		checkN("AllowN", n)
		ok := n == 0 || r.interval == 0
		r.count(ok, n)
		return ok
	}
	_, wait, _ := gcra.Take(&r.tat, r.now(), int64(n)*r.interval, r.tolerance, 0)
	if r.counting.Load() {
		r.count(wait <= 0, n)
	}
	return wait <= 0
}

// count counts n events admitted (ok) or refused, if counting.
func (r *Rate) count(ok bool, n int) {
	switch {
	case !r.counting.Load():
	case ok:
		r.admitted.Add(uint64(n))
	default:
		r.rejected.Add(uint64(n))
	}
}

// RateStats is a snapshot of a Rate's counters, which only grow. A Rate
// counts from the first call of its Stats method on, so that a limiter no
// one reads (one of a Keyed's, say) pays nothing for counting; call Stats
// once at start-up to count from there (an exporter does when it
// registers the limiter).
type RateStats struct {
	// Admitted is the number of events admitted: by Allow, AllowN and
	// Decide, and by Wait and WaitN once they return nil.
	Admitted uint64
	// Rejected is the number of events refused: by Allow, AllowN and
	// Decide, and by Wait and WaitN with an error matching
	// ErrRateExceeded. A wait cut short by its context counts in neither.
	Rejected uint64
}

// Stats returns the limiter's counters, and starts them on the first call.
// It takes no lock.
func (r *Rate) Stats() RateStats {
	r.check()
	if !r.counting.Load() {
		r.counting.Store(true)
	}
	return RateStats{Admitted: r.admitted.Load(), Rejected: r.rejected.Load()}
}

// checkN panics if n, the count of a call to Rate.op, is negative.
func checkN(op string, n int) {
	if n < 0 {
		panic(fmt.Sprintf("limiter: Rate.%s(%d): n must be >= 0", op, n))
	}
}

// check panics if r is a zero Rate. Only paths that a zero Rate takes call
// it (its interval is 0, as an Inf limiter's is), so it costs nothing on the
// fast path.
func (r *Rate) check() {
	if r.burst == 0 {
		panic("limiter: Rate used without NewRate")
	}
}

// Wait blocks until one event may happen and records it; see WaitN.
func (r *Rate) Wait(ctx context.Context) error { return r.WaitN(ctx, 1) }

// WaitN blocks until n events may happen, records them, and returns nil.
// Events are granted in the order WaitN is called, each sleeping exactly as
// long as its turn needs. If ctx ends before the wait does, WaitN returns
// context.Cause(ctx) at once and gives back its reservation when no later
// caller has reserved behind it (giving back a reservation in the middle of
// the queue could let events bunch up beyond the limit, so that one is
// forfeited instead); if ctx ends at the very moment the wait does (a
// deadline the wait just reaches), the events are granted.
// WaitN returns an error matching ErrRateExceeded without waiting if n >
// Burst(), or if the wait would end after ctx's deadline. WaitN(ctx, 0)
// only checks ctx. WaitN panics if ctx is nil or n is negative, as AllowN
// does.
func (r *Rate) WaitN(ctx context.Context, n int) error {
	tat, wait, err := r.reserve(ctx, n)
	if err != nil || wait <= 0 {
		return r.waited(n, err)
	}
	return r.waited(n, r.sleep(ctx, tat, int64(n)*r.interval, wait))
}

// waited counts the n events of a wait that ended with err, and returns
// err.
func (r *Rate) waited(n int, err error) error {
	if err == nil || errors.Is(err, ErrRateExceeded) {
		r.count(err == nil, n)
	}
	return err
}

// reserve does WaitN's checks and reserves n events, returning the new tat
// and how long to wait for them (<= 0: none).
func (r *Rate) reserve(ctx context.Context, n int) (tat, wait int64, err error) {
	if ctx == nil {
		panic("limiter: nil context")
	}
	checkN("WaitN", n)
	if r.interval == 0 {
		r.check()
	}
	if ctx.Err() != nil {
		return 0, 0, context.Cause(ctx)
	}
	switch {
	case n == 0 || r.interval == 0:
		return 0, 0, nil
	case n > r.burst:
		return 0, 0, fmt.Errorf("%w: WaitN(%d) exceeds the burst of %d", ErrRateExceeded, n, r.burst)
	}
	limit := int64(math.MaxInt64)
	if d, ok := ctx.Deadline(); ok {
		limit = max(0, int64(time.Until(d)))
	}
	tat, wait, ok := gcra.Take(&r.tat, r.now(), int64(n)*r.interval, r.tolerance, limit)
	if !ok {
		return 0, 0, fmt.Errorf("%w: WaitN(%d) would wait %v, past the context's deadline", ErrRateExceeded, n, time.Duration(wait))
	}
	return tat, wait, nil
}

// sleep waits for wait > 0 ns, the delay of a reservation that moved tat to tat
// by adding inc. If ctx ends before the wait does it gives the reservation
// back when that is safe and returns ctx's cause.
func (r *Rate) sleep(ctx context.Context, tat, inc, wait int64) error {
	if gcra.Sleep(ctx, wait) || r.now() >= tat-r.tolerance {
		return nil // the wait ended, or ended as ctx did (a deadline it reaches): the events are ours
	}
	r.giveBack(tat, inc)
	return context.Cause(ctx)
}

// giveBack undoes a reservation that moved tat to tat by adding inc, if no
// later reservation or admission has moved it since. Only the last one may be
// given back: moving tat back under later reservations would admit new events
// alongside theirs, beyond the limit.
func (r *Rate) giveBack(tat, inc int64) { r.tat.CompareAndSwap(tat, tat-inc) }

// now returns the monotonic time since the limiter's epoch in ns.
func (r *Rate) now() int64 { return int64(time.Since(r.epoch)) }
