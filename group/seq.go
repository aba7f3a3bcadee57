package group

import (
	"context"
	"iter"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
)

// MapSeq returns a sequence that calls fn for each item of seq on up to Limit
// workers (default runtime.GOMAXPROCS(0)) and yields fn's results in input
// order, each with its error wrapped to name the item's index
// ("group: item 3: ...").
//
// It is lazy and bounded: nothing runs until the sequence is ranged over, and
// it pulls from seq only while fewer than 2×Limit items are pulled and not
// yet yielded (at most Limit running, the rest finished and waiting for
// earlier items, or queued). A slow consumer therefore slows the pulling
// down, and an infinite seq is fine. seq is pulled with iter.Pull, so it
// never runs at the same time as the loop body.
//
// By default an error ends the sequence once it is yielded: the results of
// the items before it are yielded first, as a sequential loop would, and the
// items after it are cancelled with the error as their context's cause. With
// KeepGoing every error is yielded and the sequence goes on. When ctx is
// done, MapSeq stops pulling, yields the results of the items that ran, then
// ctx's cause once, and ends.
//
// Breaking out of the range loop cancels the items in flight; the loop ends
// after every worker has done its last work (a worker may still be on its
// way out, as after sync.WaitGroup.Done). A panic in fn, or a call to
// runtime.Goexit, cancels the items in flight and is re-raised in the
// goroutine ranging over the sequence as a *PanicError once the workers are
// done; with PanicAsError it is yielded as that item's error instead.
//
// To chain stages, give the sequence to MapSeq2. MapSeq allocates a fixed
// amount each time the sequence is ranged over and nothing per item. It
// panics if ctx, seq or fn is nil.
func MapSeq[In, Out any](ctx context.Context, seq iter.Seq[In], fn func(context.Context, In) (Out, error), opts ...Option) iter.Seq2[Out, error] {
	if seq == nil {
		panic("group: nil sequence")
	}
	check(ctx, fn)
	cfg := newConfig(opts)
	return func(yield func(Out, error) bool) {
		s := newStream(ctx, cfg, fn)
		defer s.close()
		next, stop := iter.Pull(seq)
		defer stop()
		s.run(next, nil, yield)
	}
}

// MapSeq2 is MapSeq for a sequence of values and errors, such as the one
// MapSeq or MapSeq2 returns, so that stages chain with no code between them:
//
//	pages := group.MapSeq(ctx, urls, fetch)
//	docs := group.MapSeq2(ctx, pages, parse)
//	for id, err := range group.MapSeq2(ctx, docs, store) {
//		...
//	}
//
// fn is called for each value whose error is nil. A non-nil error is passed
// on in that item's place, unchanged (it already names its item) and without
// calling fn, and the policy treats it as the item's own error: by default
// it ends the sequence once yielded, with KeepGoing the sequence goes on.
// When a later stage stops (an error, a break or a panic), the stages before
// it are stopped too, each after its own workers are done. MapSeq2 panics if
// ctx, seq or fn is nil.
func MapSeq2[In, Out any](ctx context.Context, seq iter.Seq2[In, error], fn func(context.Context, In) (Out, error), opts ...Option) iter.Seq2[Out, error] {
	if seq == nil {
		panic("group: nil sequence")
	}
	check(ctx, fn)
	cfg := newConfig(opts)
	return func(yield func(Out, error) bool) {
		s := newStream(ctx, cfg, fn)
		defer s.close()
		next, stop := iter.Pull2(seq)
		defer stop()
		s.run(nil, next, yield)
	}
}

// check panics if ctx or fn is nil.
func check[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error)) {
	if ctx == nil {
		panic("group: nil context")
	}
	if fn == nil {
		panic("group: nil function")
	}
}

// stream is one range over a MapSeq or MapSeq2 sequence. Item k lives in
// slots[k%len(slots)] from the moment it is pulled until it is yielded.
type stream[In, Out any] struct {
	ctx       context.Context
	cancel    context.CancelCauseFunc
	fn        func(context.Context, In) (Out, error)
	labels    bool
	keepGoing bool
	panicAsEr bool
	limit     int
	workers   int                   // started so far
	slots     []streamSlot[In, Out] // a ring of 2×limit
	ready     []bool                // slot finished, as seen by the consumer
	jobs      chan int64            // item numbers for the workers
	done      chan int64            // item numbers back to the consumer
	wg        sync.WaitGroup
	failed    atomic.Bool // an item failed: pull no more (default policy)
	pol       policy.Policy
}

type streamSlot[In, Out any] struct {
	in      In
	out     Out
	err     error
	passed  bool // err came with the item from seq (MapSeq2): fn was not called
	skipped bool // ctx was done before the item started
}

func newStream[In, Out any](ctx context.Context, cfg config, fn func(context.Context, In) (Out, error)) *stream[In, Out] {
	limit := cfg.helperLimit()
	s := &stream[In, Out]{
		fn:        fn,
		keepGoing: cfg.keepGoing,
		panicAsEr: cfg.panicAsError,
		limit:     limit,
		slots:     make([]streamSlot[In, Out], 2*limit),
		ready:     make([]bool, 2*limit),
		jobs:      make(chan int64, 2*limit),
		done:      make(chan int64, 2*limit),
	}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	if cfg.name != "" {
		s.labels = true
		s.ctx = pprof.WithLabels(s.ctx, pprof.Labels("group", cfg.name))
	}
	// Errors are yielded, not kept: the policy keeps the first panic, and
	// the first error cancels once it is yielded (Fail, default policy).
	s.pol.Init(s.ctx, s.cancel, policy.Options{}, 0)
	return s
}

// run is the consumer: it pulls items into free slots, with next (MapSeq)
// or next2 (MapSeq2), hands them to the workers and yields finished items in
// order.
func (s *stream[In, Out]) run(next func() (In, bool), next2 func() (In, error, bool), yield func(Out, error) bool) {
	w := int64(len(s.slots))
	var head, pulled int64 // items [head, pulled) are in flight
	more, cut := true, false
	for {
		if s.pol.Panicked() != nil {
			return
		}
		for { // note what has finished, without waiting
			select {
			case k := <-s.done:
				s.ready[k%w] = true
				continue
			default:
			}
			break
		}
		for head < pulled && s.ready[head%w] {
			sl := &s.slots[head%w]
			s.ready[head%w] = false
			out, err, passed, skipped := sl.out, sl.err, sl.passed, sl.skipped
			*sl = streamSlot[In, Out]{}
			if s.pol.Panicked() != nil {
				return
			}
			if skipped || err != nil && policy.Echo(s.ctx, err) {
				yield(out, context.Cause(s.ctx))
				return
			}
			if err != nil && !passed {
				err = policy.Item(int(head)).Wrap(err)
			}
			head++
			if !yield(out, err) {
				return
			}
			if err != nil && !s.keepGoing {
				s.pol.Fail(err, policy.Name{}) // cancels the items in flight
				return
			}
		}
		if more && pulled-head < w {
			if s.failed.Load() || s.ctx.Err() != nil {
				more, cut = false, s.ctx.Err() != nil
				continue
			}
			var in In
			var err error
			var ok bool
			if next != nil {
				in, ok = next()
			} else {
				in, err, ok = next2()
			}
			if !ok {
				more = false
				continue
			}
			sl := &s.slots[pulled%w]
			if err != nil { // passed on without a worker
				sl.err, sl.passed = err, true
				s.ready[pulled%w] = true
				if !s.keepGoing {
					more = false // the sequence ends at this item
				}
				pulled++
				continue
			}
			sl.in = in
			if s.workers < s.limit {
				s.workers++
				s.wg.Add(1)
				go s.work()
			}
			s.jobs <- pulled
			pulled++
			continue
		}
		if head == pulled {
			if cut {
				var zero Out
				yield(zero, context.Cause(s.ctx))
			}
			return
		}
		k := <-s.done
		s.ready[k%w] = true
	}
}

// work runs the items sent on jobs until it is closed. runtime.Goexit in fn
// ends the goroutine itself: the deferred call reports the item and starts
// a replacement worker.
func (s *stream[In, Out]) work() {
	if s.labels {
		pprof.SetGoroutineLabels(s.ctx)
	}
	k := int64(-1)
	var r *panics.Recovered
	defer func() {
		if r != nil { // runtime.Goexit
			s.finish(k, r)
			s.wg.Add(1)
			go s.work()
		}
		s.wg.Done()
	}()
	for k = range s.jobs {
		sl := &s.slots[k%int64(len(s.slots))]
		if s.ctx.Err() != nil {
			sl.skipped = true
		} else {
			sl.err = panics.Catch(&r, func() error {
				var err error
				sl.out, err = s.fn(s.ctx, sl.in)
				return err
			})
		}
		s.finish(k, r)
		r = nil
	}
}

// finish applies the policy to item k's outcome, with r set when fn
// panicked or called runtime.Goexit, and hands it to the consumer.
func (s *stream[In, Out]) finish(k int64, r *panics.Recovered) {
	sl := &s.slots[k%int64(len(s.slots))]
	if r != nil {
		sl.out = *new(Out)
		sl.err = newPanicError(r)
		if !s.panicAsEr {
			s.pol.Panic(sl.err, policy.Name{})
		}
	}
	if sl.err != nil && !s.keepGoing {
		s.failed.Store(true)
	}
	s.done <- k
}

// close cancels what is still in flight, waits for every worker to be
// done, and re-raises a panic from fn.
func (s *stream[In, Out]) close() {
	s.cancel(context.Canceled)
	close(s.jobs)
	s.wg.Wait()
	if p := s.pol.Panicked(); p != nil {
		panic(p)
	}
}
