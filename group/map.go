package group

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/weftgo/weft/internal/panics"
)

// Map calls fn for every item on up to Limit workers (default
// runtime.GOMAXPROCS(0)) and returns the results in input order: out[i] holds
// what fn returned for items[i], or the zero value for an item that never ran.
// Every worker has returned before Map returns.
//
// fn receives a context derived from ctx. The first error cancels that
// context, with the error as its cause, so that no further items start, and
// Map returns it; with KeepGoing every item runs and Map returns all errors
// joined with errors.Join in the order they occurred. Each error names the
// index of its item ("group: item 3: ...") and wraps fn's error, so errors.Is
// and errors.As still reach it. When ctx is done before every item has
// started, the items left are not started and ctx's cause is returned (or
// joined, with KeepGoing). Errors that only echo a cancellation
// (context.Canceled or context.DeadlineExceeded, returned once the context
// is done) count as that cause, reported once, and are left out when the
// cancellation was Map's own, after a failure.
//
// A panic in fn, or a call to runtime.Goexit, cancels the other items and is
// re-raised in the caller's goroutine as a *PanicError, carrying the original
// value and the stack of the goroutine that panicked, once every worker has
// returned. With PanicAsError it is returned as an error for its item instead.
//
// Workers claim indexes in chunks that shrink as the end nears, so tiny items
// cost a few nanoseconds each while slow items still spread evenly. Map
// allocates a fixed amount per call besides the result slice, whatever the
// number of items. It panics if fn is nil.
func Map[In, Out any](ctx context.Context, items []In, fn func(context.Context, In) (Out, error), opts ...Option) ([]Out, error) {
	if fn == nil {
		panic("group: Map: fn is nil")
	}
	out := make([]Out, len(items))
	err := gatherRun(ctx, len(items), opts, func(ctx context.Context, i int) error {
		var err error
		out[i], err = fn(ctx, items[i])
		return err
	}, nil)
	return out, err
}

// ForEach calls fn for every item on up to Limit workers (default
// runtime.GOMAXPROCS(0)) and returns once every worker has returned. Errors,
// cancellation and panics follow the same policy as Map: the first error
// cancels the rest and is returned, KeepGoing joins them all, errors name
// their item's index, and panics are re-raised in the caller's goroutine
// unless PanicAsError. It panics if fn is nil.
func ForEach[In any](ctx context.Context, items []In, fn func(context.Context, In) error, opts ...Option) error {
	if fn == nil {
		panic("group: ForEach: fn is nil")
	}
	return gatherRun(ctx, len(items), opts, func(ctx context.Context, i int) error {
		return fn(ctx, items[i])
	}, nil)
}

// maxChunk bounds how many indexes a worker claims at once.
const maxChunk = 1024

// gather is one call of Map, ForEach or Settle: n items run on dedicated
// workers that claim indexes from next.
type gather struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	item   func(ctx context.Context, i int) error
	// settle, when set (Settle), receives each panic as its item's result;
	// nothing is then cancelled and item handles ctx itself.
	settle                  func(i int, err error)
	n, div                  int64 // items; guided-chunk divisor
	keepGoing, panicAsError bool
	next                    atomic.Int64 // next unclaimed index
	wg                      sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	failed   bool       // a failure or panic cancelled ctx
	stopped  bool       // ctx's cause was recorded for the unstarted items
	err      error      // the first error (default policy)
	errs     []error    // every error in order (KeepGoing)
	panicked *PanicError
}

// gatherRun runs item(ctx, i) for every i in [0, n) and applies the error
// and panic policy of opts.
func gatherRun(ctx context.Context, n int, opts []Option, item func(context.Context, int) error, settle func(int, error)) error {
	if n == 0 {
		return nil
	}
	cfg := newConfig(opts)
	workers := min(cfg.helperLimit(), n)
	g := &gather{
		item:         item,
		settle:       settle,
		n:            int64(n),
		div:          8 * int64(workers),
		keepGoing:    cfg.keepGoing,
		panicAsError: cfg.panicAsError,
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	labels := cfg.name != ""
	if labels {
		g.ctx = pprof.WithLabels(g.ctx, pprof.Labels("group", cfg.name))
	}
	g.wg.Add(workers)
	for range workers {
		go g.work(labels, span{})
	}
	g.wg.Wait()
	g.cancel(context.Canceled)
	if g.panicked != nil {
		g.panicked.Repanic()
	}
	if g.keepGoing {
		return errors.Join(g.errs...)
	}
	return g.err
}

// span is the part of a claimed chunk that a worker has not started yet:
// the items next to end-1.
type span struct{ next, end int64 }

// work runs items, starting with those of s, until none are left or the
// policy says stop. A panic in an item ends the loop; work records it and, if
// the policy goes on, resumes after that item. runtime.Goexit ends the
// goroutine itself: the deferred call records it and, if the policy goes on,
// hands the rest of the chunk to a replacement worker.
func (g *gather) work(labels bool, s span) {
	if labels {
		pprof.SetGoroutineLabels(g.ctx)
	}
	var err error
	goexit := true // until the loop returns normally
	defer func() {
		if goexit && g.recovered(int(s.next-1), err) {
			g.wg.Add(1)
			go g.work(labels, s)
		}
		g.wg.Done()
	}()
	for {
		panics.Catch(&err, func() error { g.loop(&s); return nil })
		if err == nil || !g.recovered(int(s.next-1), err) {
			break
		}
		err = nil
	}
	goexit = false
}

// loop runs the items of s, then claims further chunks. Chunks are a
// fraction of what is left (guided self-scheduling): large while many items
// remain, single items near the end, so workers finish together.
func (g *gather) loop(s *span) {
	for {
		for s.next < s.end {
			i := s.next
			s.next++
			if g.settle == nil && g.ctx.Err() != nil {
				g.stop()
				return
			}
			if err := g.item(g.ctx, int(i)); err != nil && !g.fail(int(i), err) {
				return
			}
		}
		start := g.next.Load()
		if start >= g.n {
			return
		}
		c := min(max((g.n-start)/g.div, 1), maxChunk)
		end := g.next.Add(c)
		s.next, s.end = end-c, min(end, g.n)
	}
}

// fail applies the error policy to item i's error and reports whether the
// worker should go on.
func (g *gather) fail(i int, err error) bool {
	if gatherEcho(g.ctx, err) {
		g.stop()
		return false
	}
	wrapped := fmt.Errorf("group: item %d: %w", i, err)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keepGoing {
		g.errs = append(g.errs, wrapped)
		return true
	}
	if g.err == nil {
		g.err, g.failed = wrapped, true
		g.cancel(wrapped)
	}
	return false
}

// recovered applies the panic policy to a panic or Goexit in item i and
// reports whether the worker should go on.
func (g *gather) recovered(i int, err error) bool {
	if g.settle != nil {
		g.settle(i, err)
		return true
	}
	p := err.(*PanicError)
	if g.panicAsError {
		return g.fail(i, p)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.panicked == nil {
		g.panicked, g.failed = p, true
		g.cancel(p)
	}
	return false
}

// stop records ctx's cause, once, for the items that will not start or that
// failed only because ctx is done, unless ctx was cancelled by a failure,
// which is then reported instead.
func (g *gather) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failed || g.stopped {
		return
	}
	g.stopped = true
	cause := context.Cause(g.ctx)
	if g.keepGoing {
		g.errs = append(g.errs, cause)
	} else if g.err == nil {
		g.err = cause
	}
}

// gatherEcho reports whether err is only ctx's cancellation echoing back from
// fn: context.Canceled or context.DeadlineExceeded once ctx is done.
func gatherEcho(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
