package group

import (
	"context"
	"errors"
	"sync"
)

// Start runs fn as a task, like Go, and returns once fn has called ready
// (returning nil) or has ended first (returning its error, or an error saying
// it returned before calling ready). fn keeps running under the group after
// ready: Start is for work such as a server that must be listening before the
// next step runs. Calling ready more than once is harmless.
//
// If the group's context is done before fn can start, Start returns the
// context's cause without running fn, and Wait counts it as Go counts a task
// it does not start. If fn panics (or calls runtime.Goexit) before ready,
// Start returns an error saying so, and the group handles the panic as any
// task's: Wait re-raises it, or returns it with PanicAsError.
func (g *Group) Start(fn func(ctx context.Context, ready func()) error) error {
	if fn == nil {
		panic("group: nil function")
	}
	ch := make(chan error, 1)
	var once sync.Once
	signal := func(err error) { once.Do(func() { ch <- err }) }
	ready := func() { signal(nil) }
	t := func(ctx context.Context) error {
		defer signal(errStartPanicked) // a no-op unless fn panicked or exited
		err := fn(ctx, ready)
		if err == nil {
			signal(errNotReady)
		}
		signal(err)
		return err
	}
	if !g.start(t, true, "Start") {
		return context.Cause(g.ctx)
	}
	return <-ch
}

var (
	errNotReady      = errors.New("group: Start: task returned before calling ready")
	errStartPanicked = errors.New("group: Start: task panicked or called runtime.Goexit before calling ready")
)
