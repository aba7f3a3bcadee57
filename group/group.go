package group

import (
	"context"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/policy"
)

// A Group runs tasks in their own goroutines under one context and waits for
// all of them. Create it with New; the zero Group panics on first use.
//
// Every task receives the group's context, which is cancelled by the first
// failure (an error, or a panic re-raised by Wait), by Cancel, by the parent,
// and when Wait returns. With Limit(n) at most n tasks run at once.
// Once the context is done, Go starts no more tasks; each one it does not
// start is counted in Wait's error (ErrNotStarted), so none is lost without
// a trace. A task Go or TryGo has started always runs.
//
// The error and panic policy, the rules for nested work and what a Group
// costs are in the package documentation.
type Group struct {
	// Set by New, then only read (waited is written once, by Wait).
	ctx    context.Context
	cancel context.CancelCauseFunc
	tasks  chan task      // with a limit: Go hands tasks to idle workers
	limit  int32          // Limit's n, or 0
	opts   policy.Options // KeepGoing, PanicAsError
	labels bool           // Name was given: label the goroutines
	waited atomic.Bool    // Wait has returned: Go panics

	// Set when a task first fails or is not started; nil until then, so a
	// group where nothing fails carries no error state.
	trouble atomic.Pointer[trouble]
	nworker atomic.Int32   // workers started (at most limit)
	workers sync.WaitGroup // worker goroutines (with a limit)

	// Written by every Go call and task.
	wg      sync.WaitGroup // tasks started, or being handed over by Go, and not ended
	started atomic.Int64
	ended   atomic.Int64
}

// trouble is a group's record of failed and skipped tasks.
type trouble struct {
	pol      policy.Policy
	failed   atomic.Int64
	panicked atomic.Int64 // failed tasks that panicked or called Goexit
	skipped  atomic.Int64 // tasks not started
}

// troubled returns the group's trouble, creating it on first use.
func (g *Group) troubled() *trouble {
	if t := g.trouble.Load(); t != nil {
		return t
	}
	t := &trouble{}
	t.pol.Init(g.ctx, g.cancel, g.opts, 0)
	if g.trouble.CompareAndSwap(nil, t) {
		return t
	}
	return g.trouble.Load()
}

// A task is what Go runs.
type task = func(context.Context) error

// New returns a Group whose context is derived from ctx with
// context.WithCancelCause. The options are Limit, KeepGoing, PanicAsError
// and Name. New panics if ctx is nil.
func New(ctx context.Context, opts ...Option) *Group {
	g := &Group{}
	g.init(ctx, opts)
	return g
}

func (g *Group) init(ctx context.Context, opts []Option) {
	if ctx == nil {
		panic("group: nil context")
	}
	if len(opts) > 0 { // newConfig's config escapes to the options: skip it without any
		cfg := newConfig(opts)
		g.limit = int32(cfg.limit)
		g.opts = policy.Options{KeepGoing: cfg.keepGoing, PanicAsError: cfg.panicAsError}
		if cfg.name != "" {
			g.labels = true
			ctx = pprof.WithLabels(ctx, pprof.Labels("group", cfg.name))
		}
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if g.limit > 0 {
		g.tasks = make(chan task)
	}
}

// Go runs fn in a new goroutine with the group's context.
//
// Go does not start fn once the group's context is done: it returns at once
// and Wait's error counts the task (see ErrNotStarted). With Limit(n), Go
// blocks while n tasks are running, until it can hand fn to a free worker
// (fn then runs, even if the context ends just after) or the context is done
// (fn is then not started, and counted). Every fn passed to Go either runs
// or is counted.
//
// Go panics if fn is nil or if Wait has returned.
func (g *Group) Go(fn func(ctx context.Context) error) {
	g.start(fn, true, "Go")
}

// GoNamed is Go for a task with a name: an error it returns (or its panic,
// with PanicAsError) is wrapped so that the error Wait returns names the
// task, as in
//
//	group: task "fetch users": connection refused
//
// and errors.Is and errors.As still reach the task's own error. A call to
// runtime.Goexit, which ends the task's goroutine at once, is reported with
// its stack but without the name.
func (g *Group) GoNamed(name string, fn func(ctx context.Context) error) {
	if fn == nil {
		panic("group: nil function")
	}
	g.start(named(name, fn), true, "GoNamed")
}

// TryGo runs fn in a new goroutine like Go, unless that would block: it
// returns false without starting fn when the group's context is done or,
// with Limit(n), when no worker is free at that moment (n tasks are running,
// or a worker has just finished one and is not yet waiting for the next).
// It reports nothing to the group when it returns false; when it returns
// true, fn runs. It panics if fn is nil or if Wait has returned.
func (g *Group) TryGo(fn func(ctx context.Context) error) bool {
	return g.start(fn, false, "TryGo")
}

// start starts t, or hands it to a worker, and reports whether it did. op
// names the method for its panics.
func (g *Group) start(t task, block bool, op string) bool {
	if t == nil {
		panic("group: nil function")
	}
	if g.ctx == nil {
		panic("group: Group used without New")
	}
	if g.ctx.Err() != nil { // Wait has returned, or the context ended
		if g.waited.Load() {
			panic("group: " + op + " called after Wait returned")
		}
		if block {
			g.notStarted()
		}
		return false
	}
	g.wg.Add(1) // before the handover, so that Wait waits for a blocked Go
	if g.tasks == nil {
		g.started.Add(1)
		go g.run(t)
		return true
	}
	select {
	case g.tasks <- t: // an idle worker took it
		g.started.Add(1)
		return true
	default:
	}
	if g.nworker.Add(1) <= g.limit {
		g.started.Add(1)
		g.workers.Add(1)
		go g.worker(t)
		return true
	}
	g.nworker.Add(-1) // at the limit: every worker is busy
	if block {
		select {
		case g.tasks <- t:
			g.started.Add(1)
			return true
		case <-g.ctx.Done():
			g.notStarted()
		}
	}
	g.wg.Done()
	return false
}

// notStarted counts a task that Go did not start because the context is
// done, and reports the context's cause as the policy reports an echo.
func (g *Group) notStarted() {
	t := g.troubled()
	t.skipped.Add(1)
	t.pol.Cause()
}

// run runs one task in its own goroutine (no limit).
func (g *Group) run(t task) {
	if g.labels {
		pprof.SetGoroutineLabels(g.ctx)
	}
	var r *panics.Recovered
	var err error
	defer func() { g.end(err, r) }() // on a Goexit in t too
	err = panics.Catch(&r, func() error { return t(g.ctx) })
}

// worker runs t, then the tasks Go hands it, until Wait closes tasks.
func (g *Group) worker(t task) {
	if g.labels {
		pprof.SetGoroutineLabels(g.ctx)
	}
	var r *panics.Recovered
	defer func() {
		if r != nil { // t called runtime.Goexit: start a worker in this one's place
			g.workers.Add(1)
			go g.worker(nil)
			g.end(nil, r)
		}
		g.workers.Done()
	}()
	var ran uint  // tasks run, to time one in slowSample
	var slow bool // the last task timed took longer than slowTask
	for ok := t != nil; ; {
		if ok {
			var begun time.Time
			if ran%slowSample == 0 {
				begun = time.Now()
			}
			err := panics.Catch(&r, func() error { return t(g.ctx) })
			if ran%slowSample == 0 {
				slow = time.Since(begun) > slowTask
			}
			ran++
			g.end(err, r)
			r = nil
		}
		if t, ok = <-g.tasks; !ok {
			return
		}
		if slow {
			// GroupCPU (1.37x with it): the Go call that handed t over was
			// made runnable behind this worker; let it run and block again
			// before t does, so that the next worker to finish finds it.
			runtime.Gosched()
		}
	}
}

// A worker times one task in slowSample; when tasks take longer than
// slowTask, the yield after taking the next one costs less than leaving a
// blocked Go call waiting behind it.
const (
	slowSample = 64
	slowTask   = 2 * time.Microsecond
)

// end records how a task ended: with err, or with r when it panicked or
// called runtime.Goexit; both are nil when it succeeded.
func (g *Group) end(err error, r *panics.Recovered) {
	if r != nil || err != nil {
		t := g.troubled()
		t.failed.Add(1)
		if np, ok := err.(*namedPanic); ok {
			t.panicked.Add(1)
			t.pol.Panic(newPanicError(np.r), policy.Task(np.name))
		} else if r != nil {
			t.panicked.Add(1)
			t.pol.Panic(newPanicError(r), policy.Name{})
		} else {
			t.pol.Fail(err, policy.Name{}) // named already, if the task has a name
		}
	}
	g.ended.Add(1)
	g.wg.Done()
}

// Wait blocks until every task has returned, including tasks started by
// other tasks while Wait waits, and every goroutine the group started has
// done its last work (idle workers have ended). It then cancels the group's
// context (with cause ErrDone unless it was cancelled before) and returns the
// group's error: the first failure, or with KeepGoing all failures joined,
// or nil; and a *NotStartedError in place of the context's cause if Go did
// not start some tasks.
//
// If a task panicked or called runtime.Goexit, and PanicAsError was not
// given, Wait panics with that task's *PanicError instead (the first one).
// Calling Wait again returns the same result. Wait called from inside one of
// the group's own tasks waits for itself and never returns.
func (g *Group) Wait() error {
	if g.ctx == nil {
		panic("group: Group used without New")
	}
	g.wg.Wait()
	t := g.trouble.Load()
	// No task runs that could call Go: from now on Go panics (it sees the
	// context done, then waited), and the idle workers end.
	first := g.waited.CompareAndSwap(false, true)
	g.cancel(ErrDone)
	if first && g.tasks != nil {
		close(g.tasks)
	}
	g.workers.Wait()
	if t == nil {
		return nil // nothing failed or was skipped
	}
	if p := t.pol.Panicked(); p != nil {
		panic(p)
	}
	var notStarted error
	if n := t.skipped.Load(); n > 0 {
		notStarted = &NotStartedError{N: int(n), Cause: context.Cause(g.ctx)}
	}
	return t.pol.Err(notStarted)
}

// Cancel cancels the group's context with cause (context.Canceled when cause
// is nil), as a failed task would; it does nothing if the context is already
// done. Cancel does not itself make Wait fail: tasks that return the
// cancellation (an error matching context.Canceled) are reported as cause.
func (g *Group) Cancel(cause error) {
	if g.ctx == nil {
		panic("group: Group used without New")
	}
	g.cancel(cause)
}
