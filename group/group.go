package group

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/panics"
)

// ErrDone is the cause of a group's context once Wait has returned, when no
// task failed and the group was not cancelled before.
var ErrDone = errors.New("group: Wait has returned")

// A Group runs tasks in their own goroutines under one context and waits for
// all of them. Create it with New; the zero Group is not usable.
//
// Every task receives the group's context, which is derived from the context
// given to New and cancelled when the group fails (by default: the first
// error or panic), when Cancel is called, when the parent is cancelled, and
// finally when Wait returns.
//
// Error policy. By default the first task to fail cancels the group's context
// with its error as the cause (context.Cause), and Wait returns that error.
// With KeepGoing, errors cancel nothing and Wait returns all of them joined
// with errors.Join in the order they occurred. In both modes an error that is
// only the group's own cancellation echoing back from a task (an error
// matching context.Canceled or context.DeadlineExceeded, returned after the
// group's context is done) is reported as the context's cause, and only when
// that cause is not already reported. An error from a task started with
// GoNamed is wrapped so that its message names the task.
//
// Panics. A panic in a task is captured with the task's stack, cancels the
// group's context (even with KeepGoing) and is re-raised by Wait in the
// caller's goroutine as a *PanicError, whose message holds the original value
// and the task's stack. With PanicAsError it is instead an error like any
// other: it cancels the group's context unless KeepGoing, and Wait returns
// it. A task that calls runtime.Goexit is reported the same way, with Goexit
// set.
//
// Limit and nesting. With Limit(n), Go blocks while n tasks are running,
// and the tasks run on at most n worker goroutines, which take the next task
// directly from a blocked Go call instead of ending and being started again.
// A task that needs subtasks of its own must give them a nested group created
// from its context (group.New(ctx, ...)) and wait for it: that cannot
// deadlock, because a nested group's tasks never wait for a slot of the outer
// group. A task may also call TryGo on its own group, which never blocks, and
// run the subtask inline when it returns false. Calling Go on a limited group
// from inside one of its own tasks can deadlock once every slot is held by a
// task doing the same, as with errgroup.SetLimit, so do not.
//
// Goroutines. A Group starts goroutines only to run its tasks (with a limit,
// at most n workers, which stay idle between tasks, and, once the context is
// done, one more that frees the Go calls blocked at the limit, if one has
// blocked), and every one of them has returned when Wait returns; Wait must
// therefore always be called. Its methods are safe for concurrent use,
// except that Go must not be called after Wait has returned.
type Group struct {
	// Read by every Go call and task; written only by New. 64 bytes.
	ctx    context.Context
	cancel context.CancelCauseFunc
	cfg    config
	tasks  chan groupTask // with a limit: Go hands tasks to idle workers

	// Written by Go calls, on a cache line of their own.
	blocked atomic.Int64 // Go calls blocked at the limit, counted in state
	workers atomic.Int64 // worker goroutines (at most cfg.limit)
	waited  atomic.Bool  // Wait has returned: Go panics
	armed   atomic.Bool  // drain is set to run once the context is done
	_       [40]byte

	// state counts pending tasks: started (or being handed to a worker by a
	// Go call that will not give up) and not yet finished. Its waitBit says
	// Wait is blocked on idle until the count is zero. Go calls and every
	// task as it ends write it, so it has a cache line of its own.
	state atomic.Int64
	_     [56]byte

	started atomic.Int64
	failed  atomic.Int64
	wg      sync.WaitGroup // the workers and drain; Wait closes tasks to end them
	idle    sync.WaitGroup // one while Wait waits for state to reach zero

	// mu guards the fields below.
	mu        sync.Mutex
	err       error       // first failure (default policy)
	errs      []error     // every failure in order (KeepGoing)
	causeSeen bool        // context.Cause(ctx) is already among the reported errors
	panicked  *PanicError // first panic or Goexit, re-raised by Wait
	waiting   bool        // Wait has set waitBit or seen no pending task
	closed    bool        // tasks is closed
	stopDrain func() bool // once armed: stops drain from running
}

const waitBit = 1 << 62

// A groupTask is a function with the name GoNamed gave it.
type groupTask struct {
	fn   func(context.Context) error
	name string
	// dropped, if not nil, is called when the task is handed to a worker
	// (or to drain) after the group's context has ended, and so not run.
	dropped func()
}

// Stats is a snapshot of a group's counters.
type Stats struct {
	// Running is the number of tasks running now.
	Running int
	// Started is the number of tasks started so far. While the group's
	// context ends it may briefly count a task that is then not started.
	Started int
	// Failed is the number of tasks that returned an error, panicked or
	// called runtime.Goexit so far.
	Failed int
}

// New returns a Group whose context is derived from ctx with
// context.WithCancelCause. The options are Limit, KeepGoing, PanicAsError
// and Name. New panics if ctx is nil.
func New(ctx context.Context, opts ...Option) *Group {
	g := &Group{}
	g.init(ctx, opts)
	return g
}

func (g *Group) init(ctx context.Context, opts []Option) {
	for _, o := range opts {
		o(&g.cfg) // not newConfig: its config would escape, one more allocation
	}
	if g.cfg.name != "" {
		ctx = pprof.WithLabels(ctx, pprof.Labels("group", g.cfg.name))
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	if g.cfg.limit > 0 {
		g.tasks = make(chan groupTask)
	}
}

// Go runs fn in a new goroutine with the group's context.
//
// With Limit(n), Go blocks while n tasks are running, until a slot frees or
// the group's context is done. Go never starts fn once the group's context is
// done, including when it ends while Go is blocked: Go then records the
// context's cause as a failure of the group (reported once, as for any echo
// of the cancellation) and returns. A task Go has handed over before the
// context ended runs.
//
// Go panics if fn is nil or if Wait has returned.
func (g *Group) Go(fn func(ctx context.Context) error) {
	g.start(groupTask{fn: fn}, true)
}

// GoNamed is Go for a task with a name: an error it returns is wrapped so
// that the error Wait returns names the task, as in
//
//	group: task "fetch users": connection refused
//
// and errors.Is and errors.As still reach the task's own error.
func (g *Group) GoNamed(name string, fn func(ctx context.Context) error) {
	g.start(groupTask{fn: fn, name: name}, true)
}

// TryGo runs fn in a new goroutine like Go, unless that would block: it
// returns false without starting fn when the group's context is done or,
// with Limit(n), when no worker is free at that moment (n tasks are running,
// or a worker has just finished one and is not yet waiting for the next).
// Unlike Go, it reports nothing to the group when it returns false. If the
// context ends while TryGo is under way, it may return true for a task that
// is then not started, which is reported as Go reports one. It panics if fn
// is nil or if Wait has returned.
func (g *Group) TryGo(fn func(ctx context.Context) error) bool {
	return g.start(groupTask{fn: fn}, false)
}

// start runs t and reports whether it was started or, with a limit, handed
// to a worker (which drops it if the group's context ended while start was
// under way; see worker).
func (g *Group) start(t groupTask, block bool) bool {
	if t.fn == nil {
		panic("group: Go: fn is nil")
	}
	if g.ctx == nil {
		panic("group: Go on a Group not created with New")
	}
	if g.waited.Load() {
		panic("group: Go called after Wait returned")
	}
	if g.ctx.Err() != nil {
		if block {
			g.report(context.Cause(g.ctx), true, false)
		}
		return false
	}
	// Counted before it starts, so that a Wait running now (possible when
	// a task calls Go) cannot miss it.
	g.state.Add(1)
	if g.tasks == nil {
		g.started.Add(1)
		if t.name == "" {
			go g.run(t.fn) // a smaller closure than with the name
		} else {
			go g.runNamed(t.fn, t.name)
		}
		return true
	}
	select {
	case g.tasks <- t: // an idle worker took it (or drop will)
		g.started.Add(1)
		return true
	default:
	}
	for n := g.workers.Load(); n < int64(g.cfg.limit); n = g.workers.Load() {
		if g.workers.CompareAndSwap(n, n+1) {
			g.started.Add(1)
			g.wg.Add(1)
			go g.worker(t)
			return true
		}
	}
	if !block {
		g.finish()
		return false
	}
	// Every worker is busy: wait for the first to finish its task. Once the
	// group's context is done, drain or a worker takes t and drops it: this
	// needs no select on ctx.Done, which costs more than the send.
	if !g.armed.Load() {
		g.arm()
	}
	g.blocked.Add(1)
	g.tasks <- t
	g.blocked.Add(-1)
	g.started.Add(1) // taken back by drop
	return true
}

// arm sets drain to run once the group's context is done. Only groups in
// which a Go call blocks at the limit pay for it.
func (g *Group) arm() {
	g.mu.Lock()
	if !g.armed.Load() && !g.closed {
		g.wg.Add(1) // done by drain, or by Wait if drain never runs
		g.stopDrain = context.AfterFunc(g.ctx, g.drain)
		g.armed.Store(true)
	}
	g.mu.Unlock()
}

// drain runs in its own goroutine once the group's context is done, if a
// Go call has blocked at the limit, until Wait closes tasks. It takes the
// tasks of Go calls still blocked at the limit, which then return, and
// drops them.
func (g *Group) drain() {
	defer g.wg.Done()
	for t := range g.tasks {
		g.drop(t)
	}
}

// drop ends t, sent by a Go call under way when the group's context ended,
// without running it, and reports the context's cause as Go reports a task
// it does not start.
func (g *Group) drop(t groupTask) {
	g.started.Add(-1) // counted by the Go call that sent t, perhaps not yet
	g.report(context.Cause(g.ctx), true, false)
	if t.dropped != nil {
		t.dropped()
	}
	g.finish()
}

// finish counts a task as ended and wakes Wait after the last one.
func (g *Group) finish() {
	if g.state.Add(-1) == waitBit && g.state.CompareAndSwap(waitBit, 0) {
		g.idle.Done()
	}
}

// run runs one task in its own goroutine (no limit).
func (g *Group) run(fn func(context.Context) error) { g.runNamed(fn, "") }

func (g *Group) runNamed(fn func(context.Context) error, name string) {
	if g.cfg.name != "" {
		pprof.SetGoroutineLabels(g.ctx)
	}
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			g.record(panics.From(recover()), name, true)
		}
		g.finish()
	}()
	err := fn(g.ctx)
	returned = true
	if err != nil {
		g.record(err, name, false)
	}
}

// A worker samples the duration of one task in slowSample; when tasks take
// longer than slowTask, a yield (a few hundred ns) costs less than leaving
// the Go caller it woke waiting behind the next task.
const (
	slowSample = 64
	slowTask   = 2 * time.Microsecond
)

// worker runs t, then the tasks Go hands it (dropping those sent after the
// context ended), until Wait closes tasks.
func (g *Group) worker(t groupTask) {
	if g.cfg.name != "" {
		pprof.SetGoroutineLabels(g.ctx)
	}
	defer func() {
		if t.fn != nil {
			// The task panicked (stopped here) or called runtime.Goexit:
			// either way this worker ends, so start one in its place.
			g.wg.Add(1)
			go g.worker(groupTask{})
			g.record(panics.From(recover()), t.name, true)
			g.finish()
		}
		g.wg.Done()
	}()
	var ran uint  // tasks run, for sampling their duration
	var slow bool // the last sampled task took longer than slowTask
	var begun time.Time
	for {
		if t.fn != nil {
			sample := ran%slowSample == 0
			if sample {
				begun = time.Now()
			}
			err := t.fn(g.ctx)
			t.fn = nil // returned: not a panic for the deferred call
			if err != nil {
				g.record(err, t.name, false)
			}
			if sample {
				slow = time.Since(begun) > slowTask
			}
			ran++
			g.finish()
		}
		// A task received once the context is done was sent after it ended,
		// by a Go call then under way, which does not start its task.
		ended := g.ctx.Err() != nil
		var ok bool
		if t, ok = <-g.tasks; !ok {
			return
		}
		if ended {
			g.drop(t)
			t.fn = nil
			continue
		}
		if slow && g.blocked.Load() != 0 {
			// The task came from a Go call blocked at the limit, which the
			// receive made runnable on this P, behind this worker: yield so
			// that it runs now and is blocked again, ready for the next
			// worker to finish, rather than after the task just taken.
			runtime.Gosched()
		}
	}
}

// record reports how a task ended: err is nil, the task's error, or (when
// caught) the *PanicError that panics.From made of a panic or Goexit. An
// error the task returned is never taken for a panic, even a *PanicError.
func (g *Group) record(err error, name string, caught bool) {
	if err == nil {
		return
	}
	g.failed.Add(1)
	if caught {
		if name != "" && g.cfg.panicAsError {
			err = &taskError{name, err}
		}
		g.report(err, false, !g.cfg.panicAsError)
		return
	}
	if cancelEcho(g.ctx, err) {
		g.report(context.Cause(g.ctx), true, false)
		return
	}
	if name != "" {
		err = &taskError{name, err}
	}
	g.report(err, false, false)
}

// cancelEcho reports whether err is only ctx's cancellation echoing back
// from a task: context.Canceled or context.DeadlineExceeded once ctx is done.
// Group, Map, ForEach and MapSeq report such errors as ctx's cause, once.
func cancelEcho(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// report adds err to the group's failures. echo says err is the cause of the
// group's context, reported at most once; raise says err is a *PanicError
// that Wait re-panics with.
func (g *Group) report(err error, echo, raise bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if raise && g.panicked == nil {
		g.panicked = err.(*PanicError)
	}
	switch {
	case echo && g.causeSeen:
	case g.cfg.keepGoing:
		g.errs = append(g.errs, err)
	case g.err == nil:
		g.err = err
	}
	if echo {
		g.causeSeen = true
	}
	if (raise || !g.cfg.keepGoing) && g.ctx.Err() == nil {
		g.cancel(err)
		g.causeSeen = true
	}
}

// Wait blocks until every task has returned, including tasks started by
// other tasks while Wait waits, and every goroutine the group started has
// done its last work (idle workers have ended). It then cancels the group's
// context (with cause ErrDone unless it was cancelled before) and returns the
// group's error: the first failure, or with KeepGoing all failures joined, or
// nil.
//
// If a task panicked or called runtime.Goexit, and PanicAsError was not
// given, Wait panics with that task's *PanicError instead (the first one).
// Calling Wait again returns the same result.
func (g *Group) Wait() error {
	g.mu.Lock()
	if !g.waiting {
		g.waiting = true
		g.idle.Add(1)
		for {
			s := g.state.Load()
			if s == 0 {
				g.idle.Done()
				break
			}
			if g.state.CompareAndSwap(s, s|waitBit) {
				break // the last task to finish calls g.idle.Done
			}
		}
	}
	g.mu.Unlock()
	g.idle.Wait()
	// No Go call is under way (it would be pending): one made from now on
	// panics before it could send on tasks, which is closed next.
	g.waited.Store(true)
	if g.tasks != nil {
		g.mu.Lock()
		if !g.closed {
			g.closed = true
			close(g.tasks) // which ends drain, if it runs
			if g.stopDrain != nil && g.stopDrain() {
				g.wg.Done() // drain never runs
			}
		}
		g.mu.Unlock()
		g.wg.Wait()
	}
	g.cancel(ErrDone)
	g.mu.Lock()
	p, err := g.panicked, g.err
	if g.cfg.keepGoing {
		err = errors.Join(g.errs...)
	}
	g.mu.Unlock()
	if p != nil {
		p.Repanic()
	}
	return err
}

// Cancel cancels the group's context with cause (context.Canceled when cause
// is nil), as a failed task would; it does nothing if the context is already
// done. Cancel does not itself make Wait fail: tasks that return the
// cancellation (an error matching context.Canceled) are reported as cause.
func (g *Group) Cancel(cause error) {
	g.cancel(cause)
}

// Stats returns a snapshot of the group's counters. It takes no lock; while
// tasks start and end, the counters are read one after the other.
func (g *Group) Stats() Stats {
	running := g.state.Load()&^waitBit - g.blocked.Load()
	if running < 0 {
		running = 0
	}
	if n := int64(g.cfg.limit); n > 0 && running > n {
		running = n // a Go call was being counted as it blocked
	}
	return Stats{
		Running: int(running),
		Started: int(max(g.started.Load(), 0)), // below 0 while drop counts first
		Failed:  int(g.failed.Load()),
	}
}

// Start runs fn as a task, like Go, and returns once fn has called ready
// (returning nil) or has ended first (returning its error, or an error saying
// it returned before calling ready). fn keeps running under the group after
// ready: Start is for work such as a server that must be listening before the
// next step runs. Calling ready more than once is harmless.
//
// If the group's context is done before fn can start, Start returns the
// context's cause without running fn. If fn panics (or calls runtime.Goexit)
// before ready, Start returns an error saying so, and the group handles the
// panic as any task's: Wait re-raises it, or returns it with PanicAsError.
func (g *Group) Start(fn func(ctx context.Context, ready func()) error) error {
	if fn == nil {
		panic("group: Start: fn is nil")
	}
	ch := make(chan error, 1)
	var once sync.Once
	ready := func() { once.Do(func() { ch <- nil }) }
	task := func(ctx context.Context) error {
		err := errStartPanicked // unless fn returns
		defer func() { once.Do(func() { ch <- err }) }()
		err = fn(ctx, ready)
		if err == nil {
			once.Do(func() { ch <- errNotReady })
		}
		return err
	}
	dropped := func() { once.Do(func() { ch <- context.Cause(g.ctx) }) }
	if !g.start(groupTask{fn: task, dropped: dropped}, true) {
		return context.Cause(g.ctx)
	}
	return <-ch
}

var (
	errNotReady      = errors.New("group: Start: task returned before calling ready")
	errStartPanicked = errors.New("group: Start: task panicked or called runtime.Goexit before calling ready")
)

// taskError names the task that failed.
type taskError struct {
	name string
	err  error
}

func (e *taskError) Error() string { return fmt.Sprintf("group: task %q: %v", e.name, e.err) }

func (e *taskError) Unwrap() error { return e.err }
