package timeout

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
)

// A HedgeOption configures Hedge.
type HedgeOption func(*hedgeConfig)

// hedgeConfig is what the options of Hedge set.
type hedgeConfig struct {
	max     int           // extra attempts allowed
	onError bool          // a failure starts the next attempt at once
	onHedge func(n int)   // called as each extra attempt starts
	counter *HedgeCounter // counts the call when not nil (CountInto)
}

// MaxHedges sets the number of extra attempts Hedge may start, beyond the
// first, to n; the default is 1. With n = 0 Hedge makes a single attempt.
// MaxHedges panics if n is negative.
func MaxHedges(n int) HedgeOption {
	if n < 0 {
		panic("timeout: MaxHedges(" + strconv.Itoa(n) + "): n must not be negative")
	}
	return func(c *hedgeConfig) { c.max = n }
}

// HedgeOnError makes Hedge start the next attempt as soon as an attempt
// fails, instead of waiting for the rest of the delay. The attempts started
// after it are again spaced by the delay.
func HedgeOnError() HedgeOption {
	return func(c *hedgeConfig) { c.onError = true }
}

// OnHedge sets a function that Hedge calls as each extra attempt starts,
// with n = 1 for the first extra attempt, 2 for the second and so on. It is
// called in the new attempt's goroutine just before fn, so it may run
// concurrently with other attempts and must be safe for that; a panic in it
// is treated as a panic in that attempt. OnHedge panics if fn is nil.
func OnHedge(fn func(n int)) HedgeOption {
	if fn == nil {
		panic("timeout: OnHedge(nil): fn must not be nil")
	}
	return func(c *hedgeConfig) { c.onHedge = fn }
}

// PanicError is a panic recovered from an extra attempt of Hedge, which runs
// in a goroutine of its own: Hedge raises it again in the calling goroutine,
// once every attempt has returned. A panic in the first attempt, which runs
// in the calling goroutine, passes through unchanged.
//
// Its message carries the original value and the stack of the attempt's
// goroutine, so a PanicError that crashes the program still shows where the
// panic happened.
type PanicError struct {
	// Value is the value the attempt panicked with, or nil when Goexit is
	// set. A panic(nil) is a *runtime.PanicNilError.
	Value any
	// Stack is the formatted stack of the attempt's goroutine where it
	// panicked, as runtime/debug.Stack formats it, from the frame of panic
	// (or runtime.Goexit) down.
	Stack []byte
	// Goexit reports that the attempt called runtime.Goexit instead of
	// returning or panicking.
	Goexit bool
}

// Error returns the panic value marked "[recovered]", then a blank line and
// Stack. For a Goexit it says that runtime.Goexit was called.
func (e *PanicError) Error() string { return panics.Message(e.Value, e.Stack, e.Goexit) }

// Unwrap returns Value when it is an error, so that errors.Is and errors.As
// see through the panic, and nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// errLost is the cause of the context of the attempts still running when
// another attempt succeeded.
var errLost = errors.New("timeout: Hedge: another attempt succeeded")

// errDone is the cause of the context of the attempts still running when
// Hedge returns for any other reason (a panic in another attempt).
var errDone = errors.New("timeout: Hedge returned")

// Hedge calls fn and, if it has not succeeded after delay, calls it again
// concurrently, up to MaxHedges extra attempts (1 by default), each started
// delay after the one before: the tail-latency technique of Dean and
// Barroso's "The Tail at Scale". Every attempt gets the same context, derived
// from ctx.
//
// The first attempt to succeed wins: Hedge cancels the context of the others
// (context.Cause reports that another attempt succeeded), waits for every one
// of them to return, and returns the winner's value. A failed attempt does not
// stop the others; Hedge fails only when every attempt it may start has
// failed, returning their errors joined in the order the attempts started (the
// error itself when there was only one). If ctx ends, Hedge starts no more
// attempts and returns once the running ones have returned; ctx's cause is
// then among the joined errors, once, in place of the errors that only echo
// the cancellation (context.Canceled, context.DeadlineExceeded or the
// cause), as group.Map and group.Group report it.
//
// Hedge is structured: the first attempt runs in the calling goroutine, and
// every goroutine Hedge starts for the others has returned before Hedge
// returns. Losers are only cancelled, not stopped, so fn must honour its
// context for Hedge to return soon after a winner. A panic (or
// runtime.Goexit) in an extra attempt cancels the others, with the
// *PanicError as their context's cause, and is raised again in the calling
// goroutine as that *PanicError once they have returned.
//
// A delay of 0 or less starts every attempt at once, as a context deadline
// of 0 or less has already passed. Hedge panics if ctx or fn is nil.
//
// With CountInto, Hedge counts the call, its extra attempts and how it
// ended into a HedgeCounter; without it, Hedge touches no counter.
func Hedge[T any](ctx context.Context, delay time.Duration, fn func(ctx context.Context) (T, error), opts ...HedgeOption) (T, error) {
	if ctx == nil {
		panic("timeout: nil context")
	}
	if fn == nil {
		panic("timeout: nil function")
	}
	delay = max(delay, 0)
	h := &hedger[T]{parent: ctx, fn: fn, delay: delay}
	h.max = 1
	for _, o := range opts {
		o(&h.hedgeConfig)
	}
	if h.counter != nil {
		h.counter.calls.Add(1)
	}
	h.ctx, h.cancel = context.WithCancelCause(ctx)
	h.pol.Init(h.ctx, h.cancel, policy.Options{Indexed: true}, h.max+1)
	h.started, h.running = 1, 1
	if h.max > 0 {
		h.mu.Lock()
		h.armLocked()
		h.mu.Unlock()
	}
	defer h.exit() // on every path, a panic in the first attempt included
	v, err := fn(h.ctx)
	h.done(0, v, err, nil)
	return h.wait()
}

// hedger is the state of one call to Hedge.
type hedger[T any] struct {
	hedgeConfig
	parent context.Context
	fn     func(context.Context) (T, error)
	delay  time.Duration
	ctx    context.Context // every attempt's; cancelled once Hedge has its answer
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // extra attempts and timer runs not yet returned

	mu       sync.Mutex // guards the fields below
	timer    *time.Timer
	started  int  // attempts started, the first included
	running  int  // attempts started that have not returned
	finished bool // an attempt succeeded or panicked, or Hedge is returning: start no more
	won      bool
	wonExtra bool // the winner was an extra attempt
	counted  bool // the outcome is counted in counter
	// gen is incremented at each arming and disarming; a timer run for an
	// older gen does nothing. A uint32 next to the bools keeps a hedger in
	// a smaller size class; a call arms and disarms a few times per attempt.
	gen  uint32
	val  T             // the winner's value when won
	pol  policy.Policy // the failures, by attempt, and the first panic
	wake chan struct{} // when not nil, signalled after each attempt returns
}

// canStartLocked reports whether another attempt may start now.
func (h *hedger[T]) canStartLocked() bool {
	return !h.finished && h.started <= h.max && h.ctx.Err() == nil
}

// startLocked starts the next attempt in a new goroutine and, if there may be
// one after it, schedules that one delay from now.
func (h *hedger[T]) startLocked() {
	h.disarmLocked()
	n := h.started
	h.started++
	h.running++
	if h.counter != nil {
		h.counter.hedges.Add(1)
	}
	h.wg.Add(1)
	go h.attempt(n)
	if h.started <= h.max {
		h.armLocked()
	}
}

// armLocked schedules a timer run delay from now.
func (h *hedger[T]) armLocked() {
	h.gen++
	gen := h.gen
	h.wg.Add(1) // done by the run, or by disarmLocked if it stops the timer
	h.timer = time.AfterFunc(h.delay, func() { h.tick(gen) })
}

// disarmLocked cancels the scheduled timer run, if any.
func (h *hedger[T]) disarmLocked() {
	h.gen++
	if h.timer != nil && h.timer.Stop() {
		h.wg.Done()
	}
	h.timer = nil
}

// tick is the timer run armed at generation gen: it starts the next attempt
// unless the schedule changed since.
func (h *hedger[T]) tick(gen uint32) {
	defer h.wg.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen {
		return
	}
	h.timer = nil
	if h.canStartLocked() {
		h.startLocked()
	}
}

// attempt runs extra attempt n in its own goroutine.
func (h *hedger[T]) attempt(n int) {
	defer h.wg.Done()
	var (
		v   T
		err error
		r   *panics.Recovered
	)
	defer func() { h.done(n, v, err, r) }() // runs on Goexit too
	err = panics.Catch(&r, func() error {
		if h.onHedge != nil {
			h.onHedge(n)
		}
		var err error
		v, err = h.fn(h.ctx)
		return err
	})
}

// done records how attempt n ended: with v and err if it returned, else with
// r, the panic or Goexit it was stopped by.
func (h *hedger[T]) done(n int, v T, err error, r *panics.Recovered) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running--
	switch {
	case r != nil:
		h.pol.PanicAt(n, &PanicError{Value: r.Value, Stack: r.Stack, Goexit: r.Goexit}, policy.Name{})
		h.finishLocked(errDone)
	case h.finished:
		// Another attempt already decided the outcome.
	case err == nil:
		h.won, h.val, h.wonExtra = true, v, n != 0
		h.finishLocked(errLost)
	default:
		h.pol.FailAt(n, err, policy.Name{})
		if h.onError && h.canStartLocked() {
			h.startLocked()
		}
	}
	if h.wake != nil {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// finishLocked starts no more attempts and cancels the running ones.
func (h *hedger[T]) finishLocked(cause error) {
	if h.finished {
		return
	}
	h.finished = true
	h.disarmLocked()
	h.cancel(cause)
}

// stop finishes and waits for every goroutine Hedge started. It may be
// called more than once.
func (h *hedger[T]) stop() {
	h.mu.Lock()
	h.finishLocked(errDone)
	h.mu.Unlock()
	h.wg.Wait()
}

// exit is deferred by Hedge: it stops, and counts a panic in the first
// attempt, which leaves Hedge without passing through wait's count.
func (h *hedger[T]) exit() {
	h.stop()
	if h.counter != nil && !h.counted {
		h.counter.panicked.Add(1)
	}
}

// count counts the outcome of the call in the counter, if any.
func (h *hedger[T]) count(panicked bool) {
	c := h.counter
	if c == nil {
		return
	}
	h.counted = true
	switch {
	case panicked:
		c.panicked.Add(1)
	case h.won:
		c.succeeded.Add(1)
		if h.wonExtra {
			c.won.Add(1) // after succeeded: Stats reads won first
		}
	default:
		c.failed.Add(1)
	}
}

// wait blocks until an attempt has succeeded or panicked, or every attempt
// that may start has failed, and returns Hedge's result.
func (h *hedger[T]) wait() (T, error) {
	var ctxDone <-chan struct{}
	h.mu.Lock()
	for !h.finished && (h.running > 0 || h.started <= h.max && h.ctx.Err() == nil) {
		if h.wake == nil {
			h.wake = make(chan struct{}, 1)
			ctxDone = h.ctx.Done()
		}
		h.mu.Unlock()
		select {
		case <-h.wake:
		case <-ctxDone:
			ctxDone = nil // from now on, wait only for the running attempts
		}
		h.mu.Lock()
	}
	if !h.finished && h.ctx.Err() != nil {
		h.pol.Cause() // ctx ended: the attempts it stopped are reported as its cause
	}
	h.mu.Unlock()
	h.stop()
	p := h.pol.Panicked()
	h.count(p != nil)
	if p != nil {
		panic(p)
	}
	if h.won {
		return h.val, nil
	}
	var zero T
	errs := h.pol.Errs()
	if len(errs) == 1 {
		return zero, errs[0]
	}
	return zero, errors.Join(errs...)
}
