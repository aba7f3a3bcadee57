package limiter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/observe"
)

// ErrTooLarge is returned (wrapped) by [Semaphore.Acquire] when it asks for
// more permits than the semaphore's limit, so that it could never succeed.
// A waiter already queued gets it when [Semaphore.SetLimit] shrinks the limit
// below its weight.
var ErrTooLarge = errors.New("limiter: weight exceeds the semaphore's limit")

// semLocked is the bit of Semaphore.state that sends every operation through
// Semaphore.mu. The bits below it count the permits held.
const semLocked = 1 << 62

// semMaxLimit is the largest limit a Semaphore accepts: held permits must fit
// below semLocked.
const semMaxLimit = semLocked - 1

// Semaphore is a weighted semaphore: callers acquire and release permits, and
// at most Limit permits are held at any time.
//
// Waiters are served in FIFO order: a large request at the head of the queue
// is not overtaken by small ones arriving after it, so it cannot be starved.
// Acquire, TryAcquire and Release take a lock-free path (one compare-and-swap,
// or one atomic add) while no caller is queued; a caller whose
// compare-and-swap fails goes through the lock instead, so that under heavy
// contention callers take turns on a mutex rather than all retrying. The
// limit can be changed at run time with SetLimit.
//
// A Semaphore must be created with NewSemaphore and must not be copied: a
// zero Semaphore panics on first use. It is safe for concurrent use.
type Semaphore struct {
	// state is the number of permits held, plus semLocked while mu's holder
	// requires that state change only under mu (it is set for as long as
	// waiters are queued). While semLocked is clear, state changes by CAS.
	state atomic.Int64
	// size is the limit. It changes only under mu with semLocked set.
	size atomic.Int64
	// pool recycles waiters, so that blocking does not allocate. It is per
	// semaphore, so that a waiter's channel stays in the synctest bubble
	// (if any) that uses the semaphore.
	pool sync.Pool

	// Counted by queued callers when they leave the queue, off the fast
	// paths: the number that queued, the ones whose ctx ended first, and
	// their total time queued in ns, timed only once timed is set (by the
	// first Stats call) or while someone observes: two clock reads per
	// queued caller made BulkheadDoParallel/n=1 (internal/compare) up to
	// 30% slower.
	waitCount, cancelled atomic.Uint64
	waitTime             atomic.Int64
	timed                atomic.Bool
	hooks                observe.Hooks // "wait" events

	mu sync.Mutex
	// mu guards the fields below.
	head, tail *semWaiter // the FIFO queue
	waiters    int        // the length of the queue
}

// semWaiter is a queued Acquire call.
type semWaiter struct {
	w     int64
	ready chan struct{} // capacity 1: receives once the waiter is signalled
	// signalled and err are set under mu before the send on ready. err is
	// nil when the permits were granted, an error when the waiter failed.
	signalled  bool
	err        error
	prev, next *semWaiter
}

// NewSemaphore returns a semaphore with a limit of n permits. It panics if n
// is less than 1 or greater than 1<<62-1.
func NewSemaphore(n int64) *Semaphore {
	semCheckLimit("NewSemaphore", n)
	s := &Semaphore{}
	s.size.Store(n)
	return s
}

func semCheckLimit(op string, n int64) {
	if n < 1 || n > semMaxLimit {
		panic(fmt.Sprintf("limiter: %s(%d): n must be between 1 and 1<<62-1", op, n))
	}
}

// tooLarge is the error of an Acquire of w permits under a limit of n < w.
func tooLarge(w, n int64) error {
	return fmt.Errorf("limiter: Semaphore.Acquire(%d) with limit %d: %w", w, n, ErrTooLarge)
}

func semCheckWeight(op string, w int64) {
	if w < 1 {
		panic(fmt.Sprintf("limiter: Semaphore.%s(%d): weight must be at least 1", op, w))
	}
}

// Acquire acquires w permits, blocking until they are available or ctx is
// done. It returns nil on success. If ctx is done first, including before the
// call, it returns context.Cause(ctx) and leaves the semaphore unchanged:
// permits granted while ctx was ending are given back. If w exceeds the
// limit, Acquire fails at once with an error wrapping ErrTooLarge instead of
// blocking. Acquire panics if ctx is nil or w is less than 1.
func (s *Semaphore) Acquire(ctx context.Context, w int64) error { return s.acquire(ctx, w, -1) }

// acquire is Acquire, except that if maxQueue is not negative and that many
// waiters are queued, it fails with ErrFull instead of queueing.
func (s *Semaphore) acquire(ctx context.Context, w int64, maxQueue int) error {
	if ctx == nil {
		panic("limiter: nil context")
	}
	// The fast path: one compare-and-swap when no one is queued, the
	// permits are free and ctx is not done. A zero Semaphore has no room,
	// so it always takes the slow path. (An atomic add, taken back when the
	// permits do not fit, never retries, but measured no faster on
	// SemaphoreParallel/n=1000 in internal/compare.)
	if st := s.state.Load(); w > 0 && st&semLocked == 0 && s.size.Load()-st >= w && ctx.Err() == nil &&
		s.state.CompareAndSwap(st, st+w) {
		return nil
	}
	return s.acquireSlow(ctx, w, maxQueue)
}

func (s *Semaphore) acquireSlow(ctx context.Context, w int64, maxQueue int) error {
	s.check()
	semCheckWeight("Acquire", w)
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	// The fast path's one CAS failed, or found no room: go on under the
	// lock, which also sends every other caller through it until no one is
	// queued. Under contention callers so take turns on the mutex, as
	// x/sync/semaphore's do, instead of all retrying CAS on state
	// (SemaphoreParallel/n=1000 on many cores).
	s.lock()
	if size := s.size.Load(); w > size {
		s.unlock()
		return tooLarge(w, size)
	}
	if s.head == nil && s.size.Load()-s.held() >= w {
		s.state.Add(w)
		s.unlock()
		return nil
	}
	if maxQueue >= 0 && s.waiters >= maxQueue {
		s.unlock()
		return ErrFull
	}
	wt, _ := s.pool.Get().(*semWaiter)
	if wt == nil {
		wt = &semWaiter{ready: make(chan struct{}, 1)}
	}
	*wt = semWaiter{w: w, ready: wt.ready}
	s.push(wt)
	s.unlock()
	var start time.Time
	if s.timed.Load() || s.hooks.Active() {
		start = time.Now()
	}

	if done := ctx.Done(); done == nil {
		<-wt.ready // cheaper than a select on one channel
	} else {
		select {
		case <-wt.ready:
		case <-done:
			return s.waited(start, s.cancel(ctx, wt))
		}
	}
	err := wt.err
	s.pool.Put(wt)
	if err != nil {
		return s.waited(start, err)
	}
	// Granted. Fail anyway if ctx ended meanwhile, as Acquire does when ctx
	// is done on entry.
	if ctx.Err() != nil {
		s.Release(w)
		return s.waited(start, context.Cause(ctx))
	}
	return s.waited(start, nil)
}

// waited counts a caller that queued from start (zero: not timed) and
// leaves the queue with err (nil: admitted), tells the observers, and
// returns err.
func (s *Semaphore) waited(start time.Time, err error) error {
	s.waitCount.Add(1)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		s.cancelled.Add(1)
	}
	if start.IsZero() {
		return err
	}
	d := time.Since(start)
	s.waitTime.Add(int64(d))
	if s.hooks.Active() {
		s.hooks.Emit(observe.Observation{Event: observe.Wait, Duration: d, Err: err})
	}
	return err
}

// Observe attaches fn, to be called in the caller's goroutine each time an
// Acquire that queued leaves the queue, with a "wait" Observation: the time
// it spent queued and, if it was not admitted, why. It returns the function
// that detaches fn. Observe panics if fn is nil.
func (s *Semaphore) Observe(fn func(Observation)) (remove func()) {
	s.check()
	return s.hooks.Add("limiter", fn)
}

// cancel withdraws a waiter whose ctx ended. If it was granted permits
// meanwhile, they go back.
func (s *Semaphore) cancel(ctx context.Context, wt *semWaiter) error {
	s.lock()
	if wt.signalled {
		<-wt.ready // sent under mu, so already buffered
		if wt.err == nil {
			s.state.Add(-wt.w)
		}
	} else {
		s.remove(wt)
	}
	s.grant() // the permits given back, or the removed head, may let others in
	s.unlock()
	s.pool.Put(wt)
	return context.Cause(ctx)
}

// TryAcquire acquires w permits if they are available at once and no caller
// is queued before it, and reports whether it did. It never blocks. It
// panics if w is less than 1.
func (s *Semaphore) TryAcquire(w int64) bool {
	semCheckWeight("TryAcquire", w)
	if st := s.state.Load(); st&semLocked == 0 {
		if size := s.size.Load(); size-st < w {
			if size == 0 {
				s.check()
			}
			return false
		}
		if s.state.CompareAndSwap(st, st+w) {
			return true
		}
	}
	s.lock() // as in acquireSlow
	ok := s.head == nil && s.size.Load()-s.held() >= w
	if ok {
		s.state.Add(w)
	}
	s.unlock()
	return ok
}

// Release gives back w permits and wakes the waiters at the head of the
// queue that now fit. It panics if w is less than 1 or more than the permits
// held. Releasing more than held is a bug in the caller: Release restores
// the count before it panics, but an Acquire or TryAcquire running at that
// moment may have been admitted beyond the limit.
func (s *Semaphore) Release(w int64) {
	// One atomic add, even while waiters are queued (semLocked set): the
	// lock's holder only ever sees more permits free than it counted on, and
	// releaseSlow takes the lock to hand them on. Nothing more is needed
	// when 0 <= st < st+w < semLocked: w >= 1, no more than held, no lock.
	if st := s.state.Add(-w); uint64(st) >= uint64(st+w) || uint64(st+w) >= semLocked {
		s.releaseSlow(w, st)
	}
}

// releaseSlow is Release after its add left st in state, when that needs
// more than the add: waking waiters, or undoing a bad release and panicking.
func (s *Semaphore) releaseSlow(w, st int64) {
	s.check()
	old := st + w
	if w < 1 || st < 0 || old&semLocked == 0 || st&semLocked == 0 {
		// Bad weight, more than held, or more than held while locked (the
		// subtraction borrowed from semLocked): undo, then panic.
		s.state.Add(w)
		semCheckWeight("Release", w)
		panic(fmt.Sprintf("limiter: Semaphore.Release(%d) with only %d permits held", w, old&^semLocked))
	}
	s.lock()
	s.grant()
	s.unlock()
}

// SetLimit changes the limit to n permits. Growing it wakes the waiters that
// now fit. Shrinking it takes no permits back: holders keep them, and new
// acquisitions wait until the permits held fall below the new limit. Queued
// waiters whose weight exceeds n fail with an error wrapping ErrTooLarge.
// SetLimit panics if n is less than 1 or greater than 1<<62-1.
func (s *Semaphore) SetLimit(n int64) {
	s.check()
	semCheckLimit("Semaphore.SetLimit", n)
	s.lock()
	s.size.Store(n)
	for wt := s.head; wt != nil; {
		next := wt.next
		if wt.w > n {
			s.remove(wt)
			s.signal(wt, tooLarge(wt.w, n))
		}
		wt = next
	}
	s.grant()
	s.unlock()
}

// SemaphoreStats is a snapshot of a Semaphore.
type SemaphoreStats struct {
	// Limit is the number of permits the semaphore hands out at most.
	Limit int64
	// Held is the number of permits held. It can exceed Limit for a while
	// after SetLimit shrinks it.
	Held int64
	// Waiters is the number of Acquire calls queued.
	Waiters int

	// The counters below only grow. WaitCount is the number of Acquire
	// calls that queued, however their wait ended, and WaitTime the total
	// time they spent queued; Cancelled is the number of them whose
	// context ended first. They are counted as callers leave the queue.
	// WaitTime counts from the first call of Stats on (or while an
	// observer is attached), so that a semaphore no one reads does not
	// read the clock for its queued callers.
	WaitCount uint64
	WaitTime  time.Duration
	Cancelled uint64
}

// Stats returns a consistent snapshot of the semaphore's limit, permits held
// and queue length.
//
// The counters are read just after the gauges, without the lock.
func (s *Semaphore) Stats() SemaphoreStats {
	s.check()
	if !s.timed.Load() {
		s.timed.Store(true)
	}
	s.lock()
	st := SemaphoreStats{Limit: s.size.Load(), Held: s.held(), Waiters: s.waiters}
	s.unlock()
	st.WaitCount = s.waitCount.Load()
	st.WaitTime = time.Duration(s.waitTime.Load())
	st.Cancelled = s.cancelled.Load()
	return st
}

// check panics if s is a zero Semaphore, whose limit is 0. Only slow paths
// call it: the fast paths never succeed on a zero Semaphore.
func (s *Semaphore) check() {
	if s.size.Load() == 0 {
		panic("limiter: Semaphore used without NewSemaphore")
	}
}

// lock takes mu and stops the lock-free paths from changing state.
func (s *Semaphore) lock() {
	s.mu.Lock()
	s.state.Or(semLocked)
}

// unlock lets the lock-free paths run again if no one is queued, and
// releases mu.
func (s *Semaphore) unlock() {
	if s.head == nil {
		s.state.And(^semLocked)
	}
	s.mu.Unlock()
}

// held returns the permits held. Under lock it is stable.
func (s *Semaphore) held() int64 { return s.state.Load() &^ semLocked }

// grant hands permits to the waiters at the head of the queue, in order, for
// as long as the next one fits. It stops at the first that does not, so that
// a large waiter is not starved by smaller ones behind it. Called under lock.
func (s *Semaphore) grant() {
	for wt := s.head; wt != nil && s.size.Load()-s.held() >= wt.w; wt = s.head {
		s.state.Add(wt.w)
		s.remove(wt)
		s.signal(wt, nil)
	}
}

// signal wakes a waiter that has been removed from the queue. Called under
// lock.
func (s *Semaphore) signal(wt *semWaiter, err error) {
	wt.signalled = true
	wt.err = err
	wt.ready <- struct{}{}
}

func (s *Semaphore) push(wt *semWaiter) {
	wt.prev = s.tail
	if s.tail == nil {
		s.head = wt
	} else {
		s.tail.next = wt
	}
	s.tail = wt
	s.waiters++
}

func (s *Semaphore) remove(wt *semWaiter) {
	if wt.prev == nil {
		s.head = wt.next
	} else {
		wt.prev.next = wt.next
	}
	if wt.next == nil {
		s.tail = wt.prev
	} else {
		wt.next.prev = wt.prev
	}
	wt.prev, wt.next = nil, nil
	s.waiters--
}
