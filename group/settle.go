package group

import (
	"context"

	"github.com/weftgo/weft/internal/panics"
)

// Result is the outcome of one item of Settle: the value fn returned and its
// error.
type Result[T any] struct {
	// Value is what fn returned for the item, or the zero value when the
	// item did not start or panicked.
	Value T
	// Err is fn's error for the item, ctx's cause when the item did not
	// start, or a *PanicError when fn panicked or called runtime.Goexit.
	Err error
}

// Settle calls fn for every item on up to Limit workers (default
// runtime.GOMAXPROCS(0)) and returns one Result per item in input order, like
// JavaScript's Promise.allSettled or Python's asyncio.gather with
// return_exceptions=True. A failing item does not cancel the others: every
// item runs and keeps its own error, unwrapped. When ctx is done, the items
// not yet started are not started and get ctx's cause as their Err. Every
// worker has returned before Settle returns.
//
// A panic in fn, or a call to runtime.Goexit, is not re-raised: it is
// captured as that item's Err, a *PanicError holding the value and the
// stack, and the other items go on. Settle is for gathering every outcome,
// so one item's crash is reported as that item's outcome; use Map when a
// panic should stop everything. Options other than Limit and Name have no
// effect. Settle panics if ctx or fn is nil.
func Settle[In, Out any](ctx context.Context, items []In, fn func(context.Context, In) (Out, error), opts ...Option) []Result[Out] {
	if fn == nil {
		panic("group: nil function")
	}
	st := &settler[In, Out]{items: items, fn: fn, res: make([]Result[Out], len(items))}
	_ = st.run(ctx, opts, len(items), st)
	return st.res
}

// settler is one call of Settle: every item keeps its own outcome, and
// nothing cancels the others.
type settler[In, Out any] struct {
	gather
	items []In
	fn    func(context.Context, In) (Out, error)
	res   []Result[Out]
}

func (st *settler[In, Out]) loop(s *span) {
	for st.claim(s) {
		i := s.next
		s.next++
		r := &st.res[i]
		if st.ctx.Err() != nil {
			r.Err = context.Cause(st.ctx)
			continue
		}
		r.Value, r.Err = st.fn(st.ctx, st.items[i])
	}
}

func (st *settler[In, Out]) caught(i int, r *panics.Recovered) bool {
	st.res[i].Err = newPanicError(r)
	return true
}
