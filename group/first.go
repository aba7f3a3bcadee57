package group

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/weftgo/weft/internal/panics"
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
// ("group: function 2: ..."). With no fns it returns an error at once.
//
// A panic in any fn, or a call to runtime.Goexit, cancels the others and is
// re-raised in the caller's goroutine as a *PanicError once they have all
// returned, even if another fn succeeded. First panics if a fn is nil.
func First[T any](ctx context.Context, fns ...func(context.Context) (T, error)) (T, error) {
	for i, fn := range fns {
		if fn == nil {
			panic(fmt.Sprintf("group: First: fns[%d] is nil", i))
		}
	}
	var zero T
	if len(fns) == 0 {
		return zero, errFirstNone
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(context.Canceled)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex // guards the variables below
		won      bool
		value    T
		errs     = make([]error, len(fns))
		panicked *PanicError
	)
	wg.Add(len(fns))
	for i, fn := range fns {
		go func() {
			defer wg.Done()
			var v T
			var err error
			returned := false
			defer func() {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case !returned:
					if panicked == nil {
						panicked = err.(*PanicError)
						cancel(panicked)
					}
				case err != nil:
					errs[i] = fmt.Errorf("group: function %d: %w", i, err)
				case !won:
					won, value = true, v
					cancel(errFirstWon)
				}
			}()
			panics.Catch(&err, func() error {
				var e error
				v, e = fn(ctx)
				returned = true
				return e
			})
		}()
	}
	wg.Wait()
	if panicked != nil {
		panicked.Repanic()
	}
	if won {
		return value, nil
	}
	return zero, errors.Join(errs...)
}
