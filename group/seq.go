package group

import (
	"context"
	"fmt"
	"iter"
	"runtime/pprof"
	"sync"
	"sync/atomic"

	"github.com/weftgo/weft/internal/panics"
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
// Breaking out of the range loop cancels the items in flight and returns
// only after every worker goroutine has exited. A panic in fn, or a call to
// runtime.Goexit, cancels the items in flight and is re-raised in the
// goroutine ranging over the sequence as a *PanicError once the workers have
// exited; with PanicAsError it is yielded as that item's error instead.
//
// MapSeq allocates a fixed amount each time the sequence is ranged over and
// nothing per item. It panics if seq or fn is nil.
func MapSeq[In, Out any](ctx context.Context, seq iter.Seq[In], fn func(context.Context, In) (Out, error), opts ...Option) iter.Seq2[Out, error] {
	if seq == nil {
		panic("group: MapSeq: seq is nil")
	}
	if fn == nil {
		panic("group: MapSeq: fn is nil")
	}
	cfg := newConfig(opts)
	return func(yield func(Out, error) bool) {
		s := newStream(ctx, cfg, fn)
		defer s.close()
		next, stop := iter.Pull(seq)
		defer stop()
		s.run(next, yield)
	}
}

// stream is one range over a MapSeq sequence. Item k lives in
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
	failed    atomic.Bool                // an item failed: pull no more (default policy)
	panicked  atomic.Pointer[PanicError] // to re-raise (not PanicAsError)
}

type streamSlot[In, Out any] struct {
	in        In
	out       Out
	err       error
	recovered bool // err is a panic or Goexit in fn
	skipped   bool // ctx was done before the item started
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
	return s
}

// run is the consumer: it pulls items into free slots, hands them to the
// workers and yields finished items in order.
func (s *stream[In, Out]) run(next func() (In, bool), yield func(Out, error) bool) {
	w := int64(len(s.slots))
	var head, pulled int64 // items [head, pulled) are in flight
	more, cut := true, false
	for {
		if s.panicked.Load() != nil {
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
			out, err, skipped := sl.out, sl.err, sl.skipped
			*sl = streamSlot[In, Out]{}
			if s.panicked.Load() != nil {
				return
			}
			if skipped || cancelEcho(s.ctx, err) {
				yield(out, context.Cause(s.ctx))
				return
			}
			if err != nil {
				err = fmt.Errorf("group: item %d: %w", head, err)
			}
			head++
			if !yield(out, err) || err != nil && !s.keepGoing {
				s.cancel(err)
				return
			}
		}
		if more && pulled-head < w {
			if s.failed.Load() || s.ctx.Err() != nil {
				more, cut = false, s.ctx.Err() != nil
				continue
			}
			in, ok := next()
			if !ok {
				more = false
				continue
			}
			s.slots[pulled%w].in = in
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
	goexit := true // until the loop returns normally
	defer func() {
		if goexit {
			s.finish(k)
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
			sl.recovered = true
			panics.Catch(&sl.err, func() error {
				out, err := s.fn(s.ctx, sl.in)
				sl.out, sl.recovered = out, false
				return err
			})
		}
		s.finish(k)
	}
	goexit = false
}

// finish applies the policy to item k's outcome and hands it to the
// consumer.
func (s *stream[In, Out]) finish(k int64) {
	sl := &s.slots[k%int64(len(s.slots))]
	if sl.recovered && !s.panicAsEr {
		if s.panicked.CompareAndSwap(nil, sl.err.(*PanicError)) {
			s.cancel(sl.err)
		}
	} else if sl.err != nil && !s.keepGoing {
		s.failed.Store(true)
	}
	s.done <- k
}

// close cancels what is still in flight, waits for every worker to exit,
// and re-raises a panic from fn.
func (s *stream[In, Out]) close() {
	s.cancel(context.Canceled)
	close(s.jobs)
	s.wg.Wait()
	if p := s.panicked.Load(); p != nil {
		p.Repanic()
	}
}
