package limiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/notify"
	"github.com/weftgo/weft/internal/observe"
)

// Adaptive is a concurrency limit that follows what the protected resource
// can take: it grows while calls succeed quickly and shrinks when they fail
// or slow down. The limit is enforced by a FIFO Semaphore whose size the
// algorithm sets.
//
// The default algorithm is AIMD (additive increase, multiplicative
// decrease): each successful sample, while at least half the limit is in
// use, adds 1/limit (so about one per round trip of the whole limit); a
// failure, or a success slower than MaxLatency, multiplies the limit by the
// Backoff ratio, at most once per round trip. Gradient selects a
// latency-gradient algorithm instead, after Netflix's concurrency-limits.
//
// An Adaptive must be created with NewAdaptive: a zero Adaptive panics on
// first use. It is safe for concurrent use.
type Adaptive struct {
	sem *Semaphore // its limit is the Adaptive's
	cfg adaptConfig

	mu sync.Mutex
	// mu guards the fields below.
	estimate float64       // the limit before rounding down
	minRTT   time.Duration // smallest latency seen (Gradient only)
	roundN   int           // samples in the current round (Gradient only)
	roundRTT time.Duration // their total latency
	lastDrop time.Time     // when the limit last backed off
	// raised and lowered count the limit's changes; written under mu,
	// read by Stats without it.
	raised, lowered atomic.Uint64
	hooks           observe.Hooks // "call" events

	// changes holds limit changes for OnLimitChange: pushed under mu, in
	// order, and delivered by deliver with no lock held.
	changes notify.Queue[limitChange]
}

type limitChange struct{ old, new int }

// AdaptiveOption configures NewAdaptive.
type AdaptiveOption func(*adaptConfig)

type adaptConfig struct {
	initial, min, max int
	tolerance         float64 // 0: AIMD; otherwise the Gradient tolerance
	maxLatency        time.Duration
	backoff           float64
	onChange          func(old, new int)
}

// InitialLimit sets the limit an Adaptive starts with (default 20). It is
// clamped to [MinLimit, MaxLimit]. It panics if n is less than 1.
func InitialLimit(n int) AdaptiveOption {
	adaptCheckPositive("InitialLimit", n)
	return func(c *adaptConfig) { c.initial = n }
}

// MinLimit sets the smallest limit an Adaptive shrinks to (default 1). It
// panics if n is less than 1.
func MinLimit(n int) AdaptiveOption {
	adaptCheckPositive("MinLimit", n)
	return func(c *adaptConfig) { c.min = n }
}

// MaxLimit sets the largest limit an Adaptive grows to (default 1000). It
// panics if n is less than 1.
func MaxLimit(n int) AdaptiveOption {
	adaptCheckPositive("MaxLimit", n)
	return func(c *adaptConfig) { c.max = n }
}

// Gradient selects the gradient algorithm. It remembers the smallest
// latency seen (the latency without load), averages the latency of each
// round of successful samples (as many as the limit) taken while at least
// half the limit is in use, and then sets the limit to
//
//	limit × min(1, max(0.5, tolerance × minLatency / meanLatency)) + √limit
//
// so the limit grows by √limit per round while latency stays within
// tolerance times the unloaded latency, and shrinks in proportion when
// latency rises above it; it settles where limit − √limit is the
// concurrency the resource serves at that latency. Failures back off as in
// AIMD. It panics if tolerance is less than 1 or not a finite number.
func Gradient(tolerance float64) AdaptiveOption {
	if !(tolerance >= 1) || math.IsInf(tolerance, 1) {
		panic(fmt.Sprintf("limiter: Gradient(%v): tolerance must be a finite number of at least 1", tolerance))
	}
	return func(c *adaptConfig) { c.tolerance = tolerance }
}

// MaxLatency makes a success that took longer than d count as a failure
// (default: no latency counts as a failure). It panics if d is not positive.
func MaxLatency(d time.Duration) AdaptiveOption {
	if d <= 0 {
		panic(fmt.Sprintf("limiter: MaxLatency(%v): d must be positive", d))
	}
	return func(c *adaptConfig) { c.maxLatency = d }
}

// Backoff sets the ratio the limit is multiplied by on a failure (default
// 0.9). It panics unless 0 < ratio < 1.
func Backoff(ratio float64) AdaptiveOption {
	if !(ratio > 0 && ratio < 1) {
		panic(fmt.Sprintf("limiter: Backoff(%v): ratio must be in (0, 1)", ratio))
	}
	return func(c *adaptConfig) { c.backoff = ratio }
}

// OnLimitChange registers fn to be called with the old and new limit each
// time the limit changes: once per change, in the order of the changes, one
// call at a time, with no lock held (fn may use the Adaptive, done functions
// included). fn runs in a done function: the one whose sample changed the
// limit, or, while another goroutine is running fn, that goroutine. It
// panics if fn is nil.
func OnLimitChange(fn func(old, new int)) AdaptiveOption {
	if fn == nil {
		panic("limiter: OnLimitChange(nil): fn must not be nil")
	}
	return func(c *adaptConfig) { c.onChange = fn }
}

func adaptCheckPositive(option string, n int) {
	if n < 1 {
		panic(fmt.Sprintf("limiter: %s(%d): n must be at least 1", option, n))
	}
}

// NewAdaptive returns an adaptive concurrency limit configured by opts. It
// panics if MinLimit exceeds MaxLimit.
func NewAdaptive(opts ...AdaptiveOption) *Adaptive {
	cfg := adaptConfig{initial: 20, min: 1, max: 1000, backoff: 0.9}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.min > cfg.max {
		panic(fmt.Sprintf("limiter: NewAdaptive: MinLimit(%d) exceeds MaxLimit(%d)", cfg.min, cfg.max))
	}
	n := min(max(cfg.initial, cfg.min), cfg.max)
	return &Adaptive{sem: NewSemaphore(int64(n)), cfg: cfg, estimate: float64(n)}
}

// Acquire waits for a slot under the current limit, FIFO, and returns a done
// function to call when the work is over, with its outcome (calls after the
// first are ignored, so a deferred safety call cannot release twice): nil
// records a success and its latency (measured from Acquire's return), an
// error matching context.Canceled records nothing (the caller gave up; that
// says nothing about the resource), and any other error records a failure.
// If ctx is done first, Acquire returns context.Cause(ctx) and a nil done
// function. Acquire panics if ctx is nil.
func (a *Adaptive) Acquire(ctx context.Context) (done func(err error), err error) {
	if err := a.semaphore().Acquire(ctx, 1); err != nil {
		return nil, err
	}
	start := time.Now()
	var used atomic.Bool
	return func(err error) {
		if !used.Swap(true) {
			a.sample(start, err)
		}
	}, nil
}

// Limit returns the current limit.
func (a *Adaptive) Limit() int { return int(a.semaphore().size.Load()) }

// AdaptiveStats is a snapshot of an Adaptive: its semaphore's (the current
// limit as Limit, the calls in flight as Held, the callers waiting and the
// waits), and how often the limit changed.
type AdaptiveStats struct {
	SemaphoreStats
	// Increases and Decreases count the changes of the limit, up and down,
	// since NewAdaptive.
	Increases, Decreases uint64
}

// Stats returns a snapshot of the underlying semaphore and the counts of
// limit changes.
func (a *Adaptive) Stats() AdaptiveStats {
	st := AdaptiveStats{SemaphoreStats: a.semaphore().Stats()}
	st.Increases, st.Decreases = a.raised.Load(), a.lowered.Load()
	return st
}

// Observe attaches fn, to be called in the caller's goroutine with a "call"
// Observation each time a done function records an outcome: the time from
// Acquire's return to done, and done's error; and with a "wait"
// Observation each time an Acquire that queued leaves the queue (see
// Semaphore.Observe). It returns the function that detaches fn. Observe
// panics if fn is nil.
func (a *Adaptive) Observe(fn func(Observation)) (remove func()) {
	r1 := a.semaphore().Observe(fn)
	r2 := a.hooks.Add("limiter", fn)
	return func() { r1(); r2() }
}

// semaphore returns a.sem, and panics if a is a zero Adaptive.
func (a *Adaptive) semaphore() *Semaphore {
	if a.sem == nil {
		panic("limiter: Adaptive used without NewAdaptive")
	}
	return a.sem
}

// sample records the outcome of one call and releases its slot.
func (a *Adaptive) sample(start time.Time, err error) {
	now := time.Now()
	inflight := float64(a.sem.held())
	a.sem.Release(1)
	if errors.Is(err, context.Canceled) {
		return
	}
	rtt := now.Sub(start)
	if a.hooks.Active() {
		a.hooks.Emit(observe.Observation{Event: observe.Call, Duration: rtt, Err: err})
	}
	drop := err != nil || (a.cfg.maxLatency > 0 && rtt > a.cfg.maxLatency)
	if !drop && a.cfg.tolerance == 0 && 2*inflight < float64(a.sem.size.Load()) {
		return // the common case under light load: nothing to learn, no lock
	}

	a.mu.Lock()
	changed := a.adjustLocked(start, now, rtt, drop, inflight)
	a.mu.Unlock()
	if changed {
		a.deliver()
	}
}

// adjustLocked updates the limit for one sample, and reports whether it
// queued a change for OnLimitChange. a.mu must be held.
func (a *Adaptive) adjustLocked(start, now time.Time, rtt time.Duration, drop bool, inflight float64) bool {
	if a.cfg.tolerance > 0 && !drop && (a.minRTT == 0 || rtt < a.minRTT) {
		a.minRTT = max(rtt, 1)
	}
	est := a.estimate
	switch {
	case drop:
		// Back off once per round trip: calls started before the last
		// back-off saw the old limit and say nothing about the new one.
		if start.Before(a.lastDrop) {
			return false
		}
		a.lastDrop = now
		est *= a.cfg.backoff
	case 2*inflight < est:
		return false // too little use to tell whether more would do
	case a.cfg.tolerance == 0:
		est += 1 / est
	default:
		a.roundN++
		a.roundRTT += rtt
		if a.roundN < int(est) {
			return false
		}
		mean := a.roundRTT / time.Duration(a.roundN)
		a.roundN, a.roundRTT = 0, 0
		g := min(1, max(0.5, a.cfg.tolerance*float64(a.minRTT)/float64(max(mean, 1))))
		est = est*g + math.Sqrt(est)
	}
	est = min(max(est, float64(a.cfg.min)), float64(a.cfg.max))
	a.estimate = est
	n, old := int64(est), a.sem.size.Load()
	if n == old {
		return false
	}
	a.sem.SetLimit(n)
	if n > old {
		a.raised.Add(1)
	} else {
		a.lowered.Add(1)
	}
	if a.cfg.onChange == nil {
		return false
	}
	a.changes.Push(limitChange{int(old), int(n)})
	return true
}

// deliver gives the pending changes to OnLimitChange, in order, unless
// another goroutine is already doing so (it will give them).
func (a *Adaptive) deliver() {
	a.changes.Deliver(func(c limitChange) { a.cfg.onChange(c.old, c.new) })
}
