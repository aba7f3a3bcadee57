package group

import (
	"context"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
)

// named returns fn as a task whose error, or panic, names the task. The
// name travels in the task itself, so that Go's tasks carry nothing else.
func named(name string, fn task) task {
	return func(ctx context.Context) error {
		var r *panics.Recovered
		err := panics.Catch(&r, func() error { return fn(ctx) })
		if r != nil {
			return &namedPanic{name, r} // end reports it as the panic it is
		}
		return policy.Task(name).Wrap(err)
	}
}

// A namedPanic is the panic of a task started with GoNamed, on its way from
// the task to end. No other task can return one.
type namedPanic struct {
	name string
	r    *panics.Recovered
}

func (p *namedPanic) Error() string { return p.r.Error() }
