package timeout

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weftgo/weft/internal/panics"
)

// Option configures Hedge.
type Option func(*hedgeConfig)

// hedgeConfig is what the options of Hedge set.
type hedgeConfig struct {
	max     int         // extra attempts allowed
	onError bool        // a failure starts the next attempt at once
	onHedge func(n int) // called as each extra attempt starts
}

// MaxHedges sets the number of extra attempts Hedge may start, beyond the
// first, to n; the default is 1. With n = 0 Hedge makes a single attempt.
// MaxHedges panics if n is negative.
func MaxHedges(n int) Option {
	if n < 0 {
		panic("timeout: MaxHedges(" + strconv.Itoa(n) + "): n must not be negative")
	}
	return func(c *hedgeConfig) { c.max = n }
}

// HedgeOnError makes Hedge start the next attempt as soon as an attempt
// fails, instead of waiting for the rest of the delay. The attempts started
// after it are again spaced by the delay.
func HedgeOnError() Option {
	return func(c *hedgeConfig) { c.onError = true }
}

// OnHedge sets a function that Hedge calls as each extra attempt starts,
// with n = 1 for the first extra attempt, 2 for the second and so on. It is
// called in the new attempt's goroutine just before fn, so it may run
// concurrently with other attempts and must be safe for that; a panic in it
// is treated as a panic in that attempt. OnHedge panics if fn is nil.
func OnHedge(fn func(n int)) Option {
	if fn == nil {
		panic("timeout: OnHedge(nil): fn must not be nil")
	}
	return func(c *hedgeConfig) { c.onHedge = fn }
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
// then among the joined errors.
//
// Hedge is structured: the first attempt runs in the calling goroutine, and
// every goroutine Hedge starts for the others has returned before Hedge
// returns. Losers are only cancelled, not stopped, so fn must honour its
// context for Hedge to return soon after a winner. A panic (or
// runtime.Goexit) in an extra attempt cancels the others and is raised again
// in the calling goroutine, with its stack, once they have returned.
//
// Hedge panics if fn is nil or delay is negative. A delay of 0 starts every
// attempt at once.
func Hedge[T any](ctx context.Context, delay time.Duration, fn func(ctx context.Context) (T, error), opts ...Option) (T, error) {
	if fn == nil {
		panic("timeout: Hedge called with a nil fn")
	}
	if delay < 0 {
		panic("timeout: Hedge called with a negative delay " + delay.String())
	}
	h := &hedger[T]{parent: ctx, fn: fn, delay: delay}
	h.max = 1
	for _, o := range opts {
		o(&h.hedgeConfig)
	}
	h.ctx, h.cancel = context.WithCancelCause(ctx)
	h.started, h.running = 1, 1
	if h.max > 0 {
		h.mu.Lock()
		h.armLocked()
		h.mu.Unlock()
	}
	defer h.stop() // on every path, a panic in the first attempt included
	v, err := fn(h.ctx)
	h.done(0, v, err, true)
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
	gen      int  // incremented at each arming and disarming; a timer run for an older gen does nothing
	started  int  // attempts started, the first included
	running  int  // attempts started that have not returned
	finished bool // an attempt succeeded or panicked, or Hedge is returning: start no more
	won      bool
	val      T       // the winner's value when won
	errs     []error // errs[i] is the error of attempt i when it failed
	panicked *panics.Recovered
	wake     chan struct{} // when not nil, signalled after each attempt returns
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
func (h *hedger[T]) tick(gen int) {
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
		v        T
		err      error
		returned bool
	)
	defer func() { h.done(n, v, err, returned) }() // runs on Goexit too
	panics.Catch(&err, func() error {
		if h.onHedge != nil {
			h.onHedge(n)
		}
		var e error
		v, e = h.fn(h.ctx)
		returned = true
		return e
	})
}

// done records how attempt n ended: with v and err if it returned, else with
// the *panics.Recovered in err.
func (h *hedger[T]) done(n int, v T, err error, returned bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running--
	switch {
	case !returned:
		if h.panicked == nil {
			h.panicked = err.(*panics.Recovered)
		}
		h.finishLocked(errDone)
	case h.finished:
		// Another attempt already decided the outcome.
	case err == nil:
		h.won, h.val = true, v
		h.finishLocked(errLost)
	default:
		for len(h.errs) <= n {
			h.errs = append(h.errs, nil)
		}
		h.errs[n] = err
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
	h.mu.Unlock()
	h.stop()
	if h.panicked != nil {
		h.panicked.Repanic()
	}
	if h.won {
		return h.val, nil
	}
	var zero T
	errs := slices.DeleteFunc(h.errs, func(err error) bool { return err == nil })
	if cause := context.Cause(h.parent); cause != nil && !anyIs(errs, cause) {
		errs = append(errs, cause)
	}
	if len(errs) == 1 {
		return zero, errs[0]
	}
	return zero, errors.Join(errs...)
}

// anyIs reports whether errors.Is(err, target) holds for an err in errs.
func anyIs(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
