package group

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
)

// errFirstWon is the cause with which First cancels the functions that did
// not win.
var errFirstWon = errors.New("group: First: another function succeeded")

// errFirstNone is what First returns when it is given no functions.
var errFirstNone = errors.New("group: First: no functions given")

// First calls every fn concurrently, each in its own goroutine, and returns
// the value of the first one to succeed, like JavaScript's Promise.any or
// Java's StructuredTaskScope.ShutdownOnSuccess. The first success cancels the
// context passed to the others (its cause says another function succeeded),
// and First waits for all of them to return before it returns: no goroutine
// outlives the call.
//
// When every fn fails, First returns the zero value and their errors joined
// with errors.Join in argument order, each naming its function's index
// ("group: function 2: ..."). Errors that only echo the cancellation of ctx
// (context.Canceled, context.DeadlineExceeded or ctx's cause, once ctx is
// done) count as ctx's cause, reported once, as Map and Group report it.
// With no fns First returns an error at once.
//
// A panic in any fn, or a call to runtime.Goexit, cancels the others and is
// re-raised in the caller's goroutine as a *PanicError once they have all
// returned, even if another fn succeeded. First panics if ctx or a fn is nil.
func First[T any](ctx context.Context, fns ...func(context.Context) (T, error)) (T, error) {
	if ctx == nil {
		panic("group: nil context")
	}
	for _, fn := range fns {
		if fn == nil {
			panic("group: nil function")
		}
	}
	var zero T
	if len(fns) == 0 {
		return zero, errFirstNone
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(context.Canceled)
	var (
		wg    sync.WaitGroup
		pol   policy.Policy
		won   atomic.Bool
		value T // the winner's, read after wg.Wait
	)
	pol.Init(ctx, cancel, policy.Options{Indexed: true}, len(fns))
	wg.Add(len(fns))
	for i, fn := range fns {
		go func() {
			var r *panics.Recovered
			defer func() {
				if r != nil {
					pol.PanicAt(i, newPanicError(r), policy.Function(i))
				}
				wg.Done()
			}()
			var v T
			err := panics.Catch(&r, func() error {
				var err error
				v, err = fn(ctx)
				return err
			})
			switch {
			case r != nil: // the deferred call reports it
			case err != nil:
				pol.FailAt(i, err, policy.Function(i))
			case won.CompareAndSwap(false, true):
				value = v
				cancel(errFirstWon)
			}
		}()
	}
	wg.Wait()
	if p := pol.Panicked(); p != nil {
		panic(p)
	}
	if won.Load() {
		return value, nil
	}
	return zero, pol.Err(nil)
}
