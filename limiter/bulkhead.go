package limiter

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/stripe"
)

// ErrFull is returned by [Bulkhead.Do] when every slot is busy and the queue
// is full: the call is rejected at once instead of waiting.
var ErrFull = errors.New("limiter: bulkhead full")

// Bulkhead runs at most maxConcurrent functions at a time. Callers beyond
// that wait in a bounded FIFO queue, and once the queue is full further
// callers are rejected at once with ErrFull, shedding load instead of
// piling it up.
//
// A Bulkhead must be created with NewBulkhead: a zero Bulkhead panics on
// first use. It is safe for concurrent use.
type Bulkhead struct {
	sem      *Semaphore
	maxQueue int
	rejected atomic.Int64 // written only by calls turned away
	// Written only by calls that fail or panic.
	failed, panicked atomic.Int64
	// completed is written by every call, from every goroutine at once, so
	// it is striped (Count()·128 bytes, 1 KiB at GOMAXPROCS 2): one shared
	// cell made BulkheadDoParallel/n=1000 (internal/compare) 1.7x slower.
	// internal/stripe's tests guard the cell layout.
	completed *stripe.Counter
}

// NewBulkhead returns a bulkhead that runs at most maxConcurrent functions at
// once with at most maxQueue callers waiting. It panics if maxConcurrent is
// less than 1 or maxQueue is negative.
func NewBulkhead(maxConcurrent, maxQueue int) *Bulkhead {
	if maxConcurrent < 1 {
		panic(fmt.Sprintf("limiter: NewBulkhead(maxConcurrent=%d): must be at least 1", maxConcurrent))
	}
	if maxQueue < 0 {
		panic(fmt.Sprintf("limiter: NewBulkhead(maxQueue=%d): must not be negative", maxQueue))
	}
	return &Bulkhead{sem: NewSemaphore(int64(maxConcurrent)), maxQueue: maxQueue, completed: stripe.NewCounter()}
}

// Do calls fn(ctx) in the caller's goroutine once a slot is free and returns
// its error. If every slot is busy, Do waits in FIFO order; if the queue is
// full too, it returns ErrFull at once without calling fn. If ctx is done
// before fn starts, Do returns context.Cause(ctx) without calling fn. A panic
// in fn frees the slot and propagates to the caller. Do panics if ctx or fn
// is nil.
func (b *Bulkhead) Do(ctx context.Context, fn func(context.Context) error) (err error) {
	if fn == nil || b.sem == nil {
		b.misuse(fn)
	}
	if err := b.sem.acquire(ctx, 1, b.maxQueue); err != nil { // the semaphore checks ctx
		if err == ErrFull {
			b.rejected.Add(1)
		}
		return err
	}
	err = errBulkPanicked // still there when the deferred call runs: fn did not return
	defer func() { b.done(err) }()
	return fn(ctx)
}

// errBulkPanicked marks, in Do's deferred call, a function that panicked.
var errBulkPanicked = errors.New("limiter: panicked")

// acquire takes a slot for Acquire, as Do does.
func (b *Bulkhead) acquire(ctx context.Context) error {
	if b.sem == nil {
		b.misuse(nil)
	}
	err := b.sem.acquire(ctx, 1, b.maxQueue)
	if err == ErrFull {
		b.rejected.Add(1)
	}
	return err
}

// misuse panics for a zero b or, given by Do, a nil fn.
func (b *Bulkhead) misuse(fn func(context.Context) error) {
	if b.sem == nil {
		panic("limiter: Bulkhead used without NewBulkhead")
	}
	if fn == nil {
		panic("limiter: nil function")
	}
}

// done ends a call admitted by acquire, which returned err.
func (b *Bulkhead) done(err error) {
	if err != nil {
		if err == errBulkPanicked {
			b.panicked.Add(1)
		} else {
			b.failed.Add(1)
		}
	}
	b.completed.Add(1)
	b.sem.Release(1)
}

// Observe attaches fn, to be called in the caller's goroutine each time a
// call that queued leaves the queue, with a "wait" Observation: the time it
// spent queued and, if it was not admitted, why (its context's cause). Calls
// admitted without queueing are not observed, so the fast path stays as it
// is. Observe returns the function that detaches fn; it panics if fn is nil.
func (b *Bulkhead) Observe(fn func(Observation)) (remove func()) {
	if b.sem == nil {
		panic("limiter: Bulkhead used without NewBulkhead")
	}
	return b.sem.Observe(fn)
}

// BulkheadStats is a snapshot of a Bulkhead's counters.
type BulkheadStats struct {
	// Running is the number of functions running.
	Running int
	// Queued is the number of callers waiting for a slot.
	Queued int
	// Rejected is the number of calls rejected with ErrFull so far.
	Rejected int64
	// Completed is the number of functions that have returned (or
	// panicked) so far; Failed and Panicked count those that returned an
	// error and those that panicked. With Acquire, Completed counts the
	// calls of done, and Failed those given an error.
	Completed, Failed, Panicked int64
	// Cancelled is the number of callers whose context ended while they
	// were queued. WaitCount is the number of callers that queued, however
	// their wait ended, and WaitTime the total time they spent queued,
	// counted from the first Stats call on, as SemaphoreStats says.
	Cancelled, WaitCount int64
	WaitTime             time.Duration
}

// Stats returns a snapshot of the bulkhead's counters. Running and Queued
// are read together; the counters, which only grow, are read just after
// them.
func (b *Bulkhead) Stats() BulkheadStats {
	if b.sem == nil {
		panic("limiter: Bulkhead used without NewBulkhead")
	}
	s := b.sem.Stats()
	return BulkheadStats{
		Running:   int(s.Held),
		Queued:    s.Waiters,
		Rejected:  b.rejected.Load(),
		Completed: b.completed.Load(),
		Failed:    b.failed.Load(),
		Panicked:  b.panicked.Load(),
		Cancelled: int64(s.Cancelled),
		WaitCount: int64(s.WaitCount),
		WaitTime:  s.WaitTime,
	}
}
