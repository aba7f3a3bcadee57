package group

import (
	"context"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
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
// number of items. It panics if ctx or fn is nil.
func Map[In, Out any](ctx context.Context, items []In, fn func(context.Context, In) (Out, error), opts ...Option) ([]Out, error) {
	if fn == nil {
		panic("group: nil function")
	}
	m := &mapper[In, Out]{items: items, fn: fn, out: make([]Out, len(items))}
	err := m.run(ctx, opts, len(items), m)
	return m.out, err
}

// ForEach calls fn for every item on up to Limit workers (default
// runtime.GOMAXPROCS(0)) and returns once every worker has returned. Errors,
// cancellation and panics follow the same policy as Map: the first error
// cancels the rest and is returned, KeepGoing joins them all, errors name
// their item's index, and panics are re-raised in the caller's goroutine
// unless PanicAsError. It panics if ctx or fn is nil.
func ForEach[In any](ctx context.Context, items []In, fn func(context.Context, In) error, opts ...Option) error {
	if fn == nil {
		panic("group: nil function")
	}
	e := &eacher[In]{items: items, fn: fn}
	return e.run(ctx, opts, len(items), e)
}

// mapper is one call of Map.
type mapper[In, Out any] struct {
	gather
	items []In
	fn    func(context.Context, In) (Out, error)
	out   []Out
}

func (m *mapper[In, Out]) loop(s *span) {
	for m.claim(s) {
		i := s.next
		s.next++
		if m.ctx.Err() != nil {
			m.pol.Cause() // the items left are not started
			return
		}
		var err error
		m.out[i], err = m.fn(m.ctx, m.items[i])
		if err != nil && !m.pol.Fail(err, policy.Item(int(i))) {
			return
		}
	}
}

func (m *mapper[In, Out]) caught(i int, r *panics.Recovered) bool {
	return m.pol.Panic(newPanicError(r), policy.Item(i))
}

// eacher is one call of ForEach.
type eacher[In any] struct {
	gather
	items []In
	fn    func(context.Context, In) error
}

func (e *eacher[In]) loop(s *span) {
	for e.claim(s) {
		i := s.next
		s.next++
		if e.ctx.Err() != nil {
			e.pol.Cause()
			return
		}
		if err := e.fn(e.ctx, e.items[i]); err != nil && !e.pol.Fail(err, policy.Item(int(i))) {
			return
		}
	}
}

func (e *eacher[In]) caught(i int, r *panics.Recovered) bool {
	return e.pol.Panic(newPanicError(r), policy.Item(i))
}

// maxChunk bounds how many indexes a worker claims at once.
const maxChunk = 1024

// gather is what one call of Map, ForEach or Settle shares with the others:
// dedicated workers that claim chunks of indexes from next, and the policy.
type gather struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	labels bool
	n, div int64        // items; guided-chunk divisor
	next   atomic.Int64 // next unclaimed index
	wg     sync.WaitGroup
	pol    policy.Policy
}

// itemRunner is what each API does with the items of one call.
type itemRunner interface {
	// loop runs the items left in s and of the chunks it claims next, until
	// none are left or the policy says stop.
	loop(s *span)
	// caught handles a panic (or runtime.Goexit) in item i and reports
	// whether the worker goes on with the next item.
	caught(i int, r *panics.Recovered) bool
}

// span is the part of a claimed chunk that a worker has not started yet:
// the items next to end-1.
type span struct{ next, end int64 }

// run runs the n items of api on the workers of opts, and returns the error
// of the policy or re-raises its panic.
func (g *gather) run(ctx context.Context, opts []Option, n int, api itemRunner) error {
	if ctx == nil {
		panic("group: nil context")
	}
	if n == 0 {
		return nil
	}
	cfg := newConfig(opts)
	workers := min(cfg.helperLimit(), n)
	g.n, g.div = int64(n), 8*int64(workers)
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if cfg.name != "" {
		g.labels = true
		g.ctx = pprof.WithLabels(g.ctx, pprof.Labels("group", cfg.name))
	}
	g.pol.Init(g.ctx, g.cancel, policy.Options{KeepGoing: cfg.keepGoing, PanicAsError: cfg.panicAsError}, 0)
	g.wg.Add(workers)
	for range workers {
		go g.work(api, span{})
	}
	g.wg.Wait()
	g.cancel(context.Canceled)
	if p := g.pol.Panicked(); p != nil {
		panic(p)
	}
	return g.pol.Err(nil)
}

// work runs items, starting with those of s, until api's loop ends. A panic
// in an item ends the loop: work hands it to api and, if the policy goes on,
// resumes after that item. runtime.Goexit ends the goroutine itself: the
// deferred call hands it to api and, if the policy goes on, hands the rest of
// the chunk to a worker started in this one's place.
func (g *gather) work(api itemRunner, s span) {
	if g.labels {
		pprof.SetGoroutineLabels(g.ctx)
	}
	var r *panics.Recovered
	defer func() {
		if r != nil && api.caught(int(s.next-1), r) {
			g.wg.Add(1)
			go g.work(api, s)
		}
		g.wg.Done()
	}()
	for {
		_ = panics.Catch(&r, func() error { api.loop(&s); return nil })
		if r == nil {
			return
		}
		goOn := api.caught(int(s.next-1), r)
		r = nil
		if !goOn {
			return
		}
	}
}

// claim reports whether s has an item left, claiming the next chunk when it
// has none. Chunks are a fraction of what is left (guided self-scheduling):
// large while many items remain, single items near the end, so workers
// finish together.
func (g *gather) claim(s *span) bool {
	if s.next < s.end {
		return true
	}
	start := g.next.Load()
	if start >= g.n {
		return false
	}
	c := min(max((g.n-start)/g.div, 1), maxChunk)
	end := g.next.Add(c)
	s.next, s.end = end-c, min(end, g.n)
	return s.next < s.end
}
