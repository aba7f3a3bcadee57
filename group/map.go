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
	g := &gather[In, Out]{kind: gatherMap, items: items, fn: fn, out: make([]Out, len(items))}
	err := g.run(ctx, opts)
	return g.out, err
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
	g := &gather[In, struct{}]{kind: gatherEach, items: items, each: fn}
	return g.run(ctx, opts)
}

// maxChunk bounds how many indexes a worker claims at once.
const maxChunk = 1024

// gatherKind says which function a gather serves.
type gatherKind uint8

const (
	gatherMap gatherKind = iota
	gatherEach
	gatherSettle // errors and panics are the items' results; nothing cancels
)

// gather is one call of Map, ForEach or Settle: the items run on dedicated
// workers that claim indexes from next.
type gather[In, Out any] struct {
	kind  gatherKind
	items []In
	fn    func(context.Context, In) (Out, error) // Map, Settle
	each  func(context.Context, In) error        // ForEach
	out   []Out                                  // Map
	res   []Result[Out]                          // Settle

	ctx                     context.Context
	cancel                  context.CancelCauseFunc
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

// run runs every item and applies the error and panic policy of opts.
func (g *gather[In, Out]) run(ctx context.Context, opts []Option) error {
	if len(g.items) == 0 {
		return nil
	}
	cfg := newConfig(opts)
	workers := min(cfg.helperLimit(), len(g.items))
	g.n, g.div = int64(len(g.items)), 8*int64(workers)
	g.keepGoing, g.panicAsError = cfg.keepGoing, cfg.panicAsError
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
func (g *gather[In, Out]) work(labels bool, s span) {
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
func (g *gather[In, Out]) loop(s *span) {
	for {
		for s.next < s.end {
			i := s.next
			s.next++
			var err error
			switch g.kind {
			case gatherSettle:
				r := &g.res[i]
				if g.ctx.Err() != nil {
					r.Err = context.Cause(g.ctx)
				} else {
					r.Value, r.Err = g.fn(g.ctx, g.items[i])
				}
				continue
			case gatherMap:
				if g.ctx.Err() != nil {
					g.stop()
					return
				}
				g.out[i], err = g.fn(g.ctx, g.items[i])
			case gatherEach:
				if g.ctx.Err() != nil {
					g.stop()
					return
				}
				err = g.each(g.ctx, g.items[i])
			}
			if err != nil && !g.fail(int(i), err) {
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
func (g *gather[In, Out]) fail(i int, err error) bool {
	if cancelEcho(g.ctx, err) {
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
func (g *gather[In, Out]) recovered(i int, err error) bool {
	if g.kind == gatherSettle {
		g.res[i].Err = err
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
func (g *gather[In, Out]) stop() {
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
