package group

import (
	"context"
	"sync"
)

// A ResultGroup is a Group whose tasks return values: Wait returns them in
// the order the tasks were submitted. Create it with NewResults; the zero
// ResultGroup is not usable. It has the same error, panic, limit and nesting
// rules as Group, and its methods are safe for concurrent use.
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
	r.goNamed("", fn)
}

// GoNamed is Go for a task with a name, which its error carries as with
// Group.GoNamed.
func (r *ResultGroup[T]) GoNamed(name string, fn func(ctx context.Context) (T, error)) {
	r.goNamed(name, fn)
}

func (r *ResultGroup[T]) goNamed(name string, fn func(ctx context.Context) (T, error)) {
	if fn == nil {
		panic("group: Go: fn is nil")
	}
	r.mu.Lock()
	i := len(r.vals)
	var zero T
	r.vals = append(r.vals, zero)
	r.mu.Unlock()
	r.g.start(groupTask{fn: r.task(i, fn), name: name}, true)
}

// TryGo runs fn like Go unless that would block, as Group.TryGo does; it
// reserves a place for fn's value only when it returns true.
func (r *ResultGroup[T]) TryGo(fn func(ctx context.Context) (T, error)) bool {
	if fn == nil {
		panic("group: TryGo: fn is nil")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := len(r.vals)
	if !r.g.start(groupTask{fn: r.task(i, fn)}, false) {
		return false
	}
	var zero T
	r.vals = append(r.vals, zero)
	return true
}

// task adapts fn to store its value at index i.
func (r *ResultGroup[T]) task(i int, fn func(context.Context) (T, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		v, err := fn(ctx)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.vals[i] = v
		r.mu.Unlock()
		return nil
	}
}

// Wait waits for every task like Group.Wait and returns their values in the
// order Go was called, with the group's error. The values are returned on
// error too; a failed task's place holds the zero value. Like Group.Wait, it
// re-panics with a task's panic unless PanicAsError was given.
func (r *ResultGroup[T]) Wait() ([]T, error) {
	err := r.g.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.vals, err
}

// Cancel cancels the group's context with cause, like Group.Cancel.
func (r *ResultGroup[T]) Cancel(cause error) { r.g.Cancel(cause) }

// Stats returns a snapshot of the group's counters, like Group.Stats.
func (r *ResultGroup[T]) Stats() Stats { return r.g.Stats() }
