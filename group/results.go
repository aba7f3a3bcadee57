package group

import (
	"context"
	"sync"
)

// A ResultGroup is a Group whose tasks return values: Wait returns them in
// the order the tasks were submitted. Create it with NewResults; the zero
// ResultGroup panics on first use. It has the same methods and the same
// error, panic, limit and nesting rules as Group, and its methods are safe
// for concurrent use.
type ResultGroup[T any] struct {
	g Group

	// mu guards vals.
	mu   sync.Mutex
	vals []T
}

// NewResults returns a ResultGroup whose context is derived from ctx, with
// the same options as New.
func NewResults[T any](ctx context.Context, opts ...Option) *ResultGroup[T] {
	r := &ResultGroup[T]{}
	r.g.init(ctx, opts)
	return r
}

// Go runs fn in a new goroutine with the group's context, like Group.Go
// (blocking at the limit), and reserves fn's place in the slice Wait
// returns. The place holds fn's value when fn succeeds and the zero value
// when it fails or is not started.
func (r *ResultGroup[T]) Go(fn func(ctx context.Context) (T, error)) {
	r.goNamed("", fn, "Go")
}

// GoNamed is Go for a task with a name, which its error carries as with
// Group.GoNamed.
func (r *ResultGroup[T]) GoNamed(name string, fn func(ctx context.Context) (T, error)) {
	r.goNamed(name, fn, "GoNamed")
}

func (r *ResultGroup[T]) goNamed(name string, fn func(ctx context.Context) (T, error), op string) {
	if fn == nil {
		panic("group: nil function")
	}
	t := r.task(r.reserve(), fn)
	if name != "" {
		t = named(name, t)
	}
	r.g.start(t, true, op)
}

// TryGo runs fn like Go unless that would block, as Group.TryGo does; it
// reserves a place for fn's value only when it returns true.
func (r *ResultGroup[T]) TryGo(fn func(ctx context.Context) (T, error)) bool {
	if fn == nil {
		panic("group: nil function")
	}
	r.check()
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.vals)
	if !r.g.start(r.task(i, fn), false, "TryGo") {
		return false
	}
	var zero T
	r.vals = append(r.vals, zero)
	return true
}

// Start runs fn as a task, like Group.Start, and reserves fn's place in the
// slice Wait returns, like Go: it returns once fn has called ready, or has
// ended first, and fn's value is stored in its place when fn succeeds.
func (r *ResultGroup[T]) Start(fn func(ctx context.Context, ready func()) (T, error)) error {
	if fn == nil {
		panic("group: nil function")
	}
	i := r.reserve()
	return r.g.Start(func(ctx context.Context, ready func()) error {
		v, err := fn(ctx, ready)
		if err == nil {
			r.set(i, v)
		}
		return err
	})
}

// check panics if r was not created with NewResults.
func (r *ResultGroup[T]) check() {
	if r.g.ctx == nil {
		panic("group: ResultGroup used without NewResults")
	}
}

// reserve appends a zero value to vals and returns its index.
func (r *ResultGroup[T]) reserve() int {
	r.check()
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero T
	r.vals = append(r.vals, zero)
	return len(r.vals) - 1
}

// set stores v at index i.
func (r *ResultGroup[T]) set(i int, v T) {
	r.mu.Lock()
	r.vals[i] = v
	r.mu.Unlock()
}

// task adapts fn to store its value at index i.
func (r *ResultGroup[T]) task(i int, fn func(context.Context) (T, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		v, err := fn(ctx)
		if err == nil {
			r.set(i, v)
		}
		return err
	}
}

// Wait waits for every task like Group.Wait and returns their values in the
// order Go was called, with the group's error. The values are returned on
// error too; a failed task's place holds the zero value. Like Group.Wait, it
// re-panics with a task's panic unless PanicAsError was given.
func (r *ResultGroup[T]) Wait() ([]T, error) {
	r.check()
	err := r.g.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vals, err
}

// Cancel cancels the group's context with cause, like Group.Cancel.
func (r *ResultGroup[T]) Cancel(cause error) { r.g.Cancel(cause) }

// Stats returns a snapshot of the group's counters, like Group.Stats.
func (r *ResultGroup[T]) Stats() Stats { return r.g.Stats() }
