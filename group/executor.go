package group

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/panics"
	"github.com/weftgo/weft/internal/stripe"
)

// ErrFull is returned by TrySubmit when an Executor's queue is full and
// every worker is busy.
var ErrFull = errors.New("group: executor queue is full")

// ErrClosed is returned by Submit, TrySubmit and SubmitFunc once Shutdown
// has been called. A Future whose task never ran because Shutdown's context
// ended reports an error that matches it too.
var ErrClosed = errors.New("group: executor is shut down")

// Executor defaults.
const (
	// DefaultQueue is the capacity of an Executor's queue without the
	// Queue option.
	DefaultQueue = 1024
	// DefaultIdleTimeout is how long a worker of an Executor waits for work
	// before it exits, without the IdleTimeout option.
	DefaultIdleTimeout = time.Second
	// DefaultAging is how many places in an Executor's queue a level of
	// priority is worth, without the Aging option.
	DefaultAging = 16
)

// An Executor is a long-lived pool of workers fed by a bounded queue: the
// form of a group that outlives any one call. Services use it to run
// background jobs submitted from many places, to push back when too much
// work arrives, and to drain what was accepted when they shut down. Create it
// with NewExecutor; the zero Executor panics on first use.
//
// Tasks. Submit and TrySubmit accept a func(context.Context) error whose
// outcome only the Executor sees: its error is counted in Stats and
// otherwise dropped (handle it inside the task, or use SubmitFunc). SubmitFunc
// accepts a func(context.Context) (T, error) and returns a Future for its
// value and error. Every task receives a context derived from the one given to
// NewExecutor, not from the context it was submitted with: once accepted, a
// task belongs to the Executor and outlives its submitter, as a background job
// must. A task's context is cancelled when the parent given to NewExecutor is
// (the Executor still runs what it accepted, and each task can return at
// once), when its Future is cancelled, and when Shutdown's context ends. A
// task must not use its context after it has returned: a worker reuses the
// context of one Future task for its next, until one is cancelled.
//
// Limit and queue. At most Limit(n) tasks run at once (default
// runtime.GOMAXPROCS(0)); SetLimit changes n while the Executor runs. When n
// tasks are running, new tasks wait in a queue of Queue(c) tasks (default
// DefaultQueue). When the queue is full too, Submit waits for room (bounded
// by its context), and TrySubmit returns ErrFull at once.
//
// Priorities. A task's priority is an int, higher first, taken from the
// context it is submitted with (WithPriority; 0 without). Queued tasks start
// highest priority first and, within a priority, in the order they were
// accepted. So that a low priority task cannot starve under a steady stream
// of higher priority work, a priority level is worth Aging(k) places in the
// queue (default DefaultAging): a queued task of priority p is overtaken
// only by tasks of priority q > p accepted fewer than k × (q − p) tasks
// after it. Put another way, queued tasks start in decreasing order of
// priority × k − arrival number (the count of tasks queued before them), the
// older first on a tie. Submit calls blocked for room are accepted in the order they
// arrived, whatever their priority.
//
// Workers. Workers are goroutines started on demand, up to the limit, and
// each exits when it has had no work for between IdleTimeout(d) and twice
// that (default DefaultIdleTimeout), so an idle Executor holds no goroutine.
// With Name, they carry the pprof label group=name.
//
// Panics. A panic in a task (or a call to runtime.Goexit) is never
// swallowed. With a Future, Wait returns it as a *PanicError carrying the
// task's stack. Without one, it is counted in Stats and the first one is
// re-raised by Shutdown once everything has stopped, or, with PanicAsError,
// returned by Shutdown as an error.
//
// Shutdown. Shutdown stops accepting tasks and waits for the queue to drain
// and every task to return. Nothing accepted is lost: every accepted task
// runs exactly once, or is reported — through its Future when it was
// cancelled or dropped, and in Shutdown's error when Shutdown's context ended
// before it could run.
//
// Blocking work. An Executor is also the place for blocking or CPU-heavy
// calls (cgo, file I/O, compression, image decoding) that should not run on
// request goroutines: size it for the work (Limit) and the acceptable backlog
// (Queue), submit with SubmitFunc, and wait on the Future with the request's
// context. A request whose deadline passes stops waiting at once, while the
// work keeps a bounded number of threads busy instead of one per request.
//
// Tasks that submit. A task may Submit to its own Executor, but a task that
// waits for room in it can deadlock once every worker does the same (as with
// any bounded pool); use TrySubmit there, or a second Executor. A task must
// not call Shutdown on its own Executor: Shutdown waits for the task.
// Follow-up tasks submitted while Shutdown drains get ErrClosed.
//
// Misuse. Construction options with invalid values panic; a nil context or
// nil function panics at the call ("group: nil context", "group: nil
// function"). Conditions that happen in correct programs (full, closed,
// cancelled) are errors: ErrFull, ErrClosed, or the context's cause.
//
// All methods are safe for concurrent use.
type Executor struct {
	// flags summarise the state for TrySubmit's lock-free rejection.
	flags atomic.Uint32
	// rejected counts refusals for lack of room on stripes of their own, so
	// that request goroutines shed at once do not contend for one cache
	// line (BenchmarkExecutorTrySubmitFullParallel).
	rejected *stripe.Counter
	_        [64 - 8 - 8]byte
	waitNs   atomic.Int64 // time the timed tasks spent in the queue, in ns
	timed    atomic.Int64 // tasks whose time in the queue was measured

	ctx    context.Context // parent of every task's context
	cancel context.CancelCauseFunc
	idle   time.Duration
	cfg    config
	wg     sync.WaitGroup // worker goroutines

	// mu guards the fields below.
	mu       sync.Mutex
	limit    int
	capacity int
	running  int // tasks running, or handed to a worker to run
	workers  int // worker goroutines, running or idle
	queue    execQueue
	idlers   []*execWorker // idle workers, most recently idle last
	waiters  execWaiters   // Submit calls blocked for room
	closed   bool          // Shutdown was called
	drained  chan struct{} // closed once closed and no task is left
	stopErr  error         // set once Shutdown's context ended: its cause; queued tasks were dropped
	first    *PanicError   // first panic of a task without a Future
	counts   execCounts
	shutdown sync.Once
}

// execCounts are the counters of ExecutorStats kept under the mutex.
type execCounts struct {
	submitted, completed, failed, panicked, cancelled, dropped uint64
	dequeued                                                   uint64 // tasks started from the queue
}

// Flags of Executor.flags. A live Executor with room has flags == execLive.
const (
	execLive   = 1 << iota // set by NewExecutor
	execFull               // limit reached, queue full (or waiters)
	execClosed             // Shutdown was called
)

// ExecutorStats is a snapshot of an Executor's state and counters. Submitted
// = Completed + Cancelled + Dropped + Running + Queued, up to tasks in the
// middle of a transition when the snapshot is taken.
type ExecutorStats struct {
	// Limit is the current limit on running tasks.
	Limit int
	// Workers is the number of worker goroutines, running a task or idle.
	Workers int
	// Running is the number of tasks running now.
	Running int
	// Queued is the number of accepted tasks waiting for a worker.
	Queued int
	// Waiting is the number of Submit calls blocked for room in the queue.
	Waiting int
	// Submitted is the number of tasks accepted so far.
	Submitted uint64
	// Completed is the number of tasks that returned, failed, panicked or
	// called runtime.Goexit.
	Completed uint64
	// Failed is the number of completed tasks that returned an error.
	Failed uint64
	// Panicked is the number of completed tasks that panicked or called
	// runtime.Goexit.
	Panicked uint64
	// Cancelled is the number of tasks whose Future was cancelled while they
	// were queued, so that they never ran.
	Cancelled uint64
	// Dropped is the number of accepted tasks that never ran because
	// Shutdown's context ended first.
	Dropped uint64
	// Rejected is the number of tasks refused for lack of room: TrySubmit's
	// ErrFull, and Submit calls whose context ended while they waited.
	Rejected uint64
	// QueueWait is the total time the tasks started from the queue spent
	// there: the mean wait of one queued task in every 16, which is timed
	// (reading the clock for each would cost as much as the rest of a tiny
	// task's trip), times their number. Tasks handed straight to a worker
	// do not wait and are not counted.
	QueueWait time.Duration
}

// Queue sets the capacity of an Executor's queue: the number of accepted
// tasks that may wait while every worker is busy (default DefaultQueue). With
// Queue(0) a task is accepted only when a worker can start it at once. Only
// NewExecutor reads it. Queue panics if n < 0.
func Queue(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("group: Queue(%d): n must be >= 0", n))
	}
	return func(c *config) { c.queue, c.queueSet = n, true }
}

// IdleTimeout sets how long an Executor's idle worker waits for a task
// before it exits: between d and 2d after its last task (default
// DefaultIdleTimeout). Only NewExecutor reads it. IdleTimeout panics if
// d <= 0.
func IdleTimeout(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("group: IdleTimeout(%v): d must be > 0", d))
	}
	return func(c *config) { c.idleTimeout = int64(d) }
}

// Aging sets how many places in an Executor's queue a level of priority is
// worth (default DefaultAging): a queued task is overtaken by a task of
// priority d levels higher only if that task was accepted fewer than k × d
// tasks after it. A larger k makes priorities stricter; no k lets a task
// starve. Only NewExecutor reads it. Aging panics if k < 1.
func Aging(k int) Option {
	if k < 1 {
		panic(fmt.Sprintf("group: Aging(%d): k must be at least 1", k))
	}
	return func(c *config) { c.aging = k }
}

// priorityKey is the context key of WithPriority.
type priorityKey struct{}

// WithPriority returns a copy of ctx that submits tasks to an Executor with
// priority p: queued tasks of higher priority start first (see Executor for
// the rule that keeps lower ones from starving). The default priority is 0;
// negative priorities run after it.
func WithPriority(ctx context.Context, p int) context.Context {
	if ctx == nil {
		panic("group: nil context")
	}
	return context.WithValue(ctx, priorityKey{}, p)
}

// priorityOf returns the priority WithPriority stored in ctx, or 0.
func priorityOf(ctx context.Context) int {
	p, _ := ctx.Value(priorityKey{}).(int)
	return p
}

// NewExecutor returns an Executor whose tasks' contexts derive from ctx.
// The options are Limit (default runtime.GOMAXPROCS(0)), Queue, IdleTimeout,
// Aging, PanicAsError and Name; the others are ignored. It starts no
// goroutine: workers start with the first tasks. NewExecutor panics if ctx is
// nil.
func NewExecutor(ctx context.Context, opts ...Option) *Executor {
	if ctx == nil {
		panic("group: nil context")
	}
	ex := &Executor{cfg: newConfig(opts)}
	ex.limit = ex.cfg.helperLimit()
	ex.capacity = DefaultQueue
	if ex.cfg.queueSet {
		ex.capacity = ex.cfg.queue
	}
	ex.idle = DefaultIdleTimeout
	if ex.cfg.idleTimeout > 0 {
		ex.idle = time.Duration(ex.cfg.idleTimeout)
	}
	ex.queue.aging = DefaultAging
	if ex.cfg.aging > 0 {
		ex.queue.aging = uint64(ex.cfg.aging)
	}
	if ex.cfg.name != "" {
		ctx = pprof.WithLabels(ctx, pprof.Labels("group", ex.cfg.name))
	}
	ex.ctx, ex.cancel = context.WithCancelCause(ctx)
	ex.rejected = stripe.NewCounter()
	ex.flags.Store(execLive)
	return ex
}

// An execTask is a task accepted by an Executor: fn, or the Future fut.
type execTask struct {
	fn   func(context.Context) error
	fut  execFuture
	prio int
	seq  uint64 // set by the queue: order of arrival
	enq  int64  // when it was queued, in ns since execEpoch; 0: not timed
}

// Submit submits fn to run on ex with the priority of ctx (WithPriority). It
// returns nil once fn is accepted: started by a worker or queued. While the
// queue is full, Submit waits for room until ctx is done, and then returns
// context.Cause(ctx) without submitting fn. Room available at once is taken
// even when ctx is done. Once accepted, fn runs with a context derived from
// ex's, not from ctx.
//
// Submit returns ErrClosed once Shutdown has been called, including when
// Shutdown starts while Submit is waiting. It panics if ctx or fn is nil.
func (ex *Executor) Submit(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx == nil {
		panic("group: nil context")
	}
	if fn == nil {
		panic("group: nil function")
	}
	return ex.submit(ctx, execTask{fn: fn, prio: priorityOf(ctx)}, true)
}

// TrySubmit submits fn to run on ex with priority 0 unless that would
// wait: when every worker is busy and the queue is full (or Submit calls are
// waiting for room), it returns ErrFull at once, without allocating or
// taking a lock. It returns ErrClosed once Shutdown has been
// called. It panics if fn is nil.
func (ex *Executor) TrySubmit(fn func(ctx context.Context) error) error {
	if fn == nil {
		panic("group: nil function")
	}
	if f := ex.flags.Load(); f != execLive {
		return ex.refuse(f)
	}
	return ex.submit(context.Background(), execTask{fn: fn}, false)
}

// refuse returns the error for flags f that are not execLive.
func (ex *Executor) refuse(f uint32) error {
	switch {
	case f&execLive == 0:
		panic("group: Executor used without NewExecutor")
	case f&execClosed != 0:
		return ErrClosed
	}
	ex.rejected.Add(1)
	return ErrFull
}

// SubmitFunc submits fn to run on ex, as Submit does, and returns a Future
// for its value and error. Waiting for room, priority and ErrClosed are as
// for Submit; on error the Future is nil. A panic in fn is not re-raised by
// Shutdown: Wait returns it as a *PanicError. SubmitFunc panics if ctx, ex or
// fn is nil.
func SubmitFunc[T any](ctx context.Context, ex *Executor, fn func(ctx context.Context) (T, error)) (*Future[T], error) {
	if ctx == nil {
		panic("group: nil context")
	}
	if fn == nil {
		panic("group: nil function")
	}
	if ex == nil {
		panic("group: SubmitFunc: nil Executor")
	}
	f := &Future[T]{fn: fn}
	f.c.ex = ex
	f.c.wg.Add(1)
	if err := ex.submit(ctx, execTask{fut: f, prio: priorityOf(ctx)}, true); err != nil {
		return nil, err
	}
	return f, nil
}

// submit accepts t, waiting for room while ctx lives if wait is set.
func (ex *Executor) submit(ctx context.Context, t execTask, wait bool) error {
	ex.mu.Lock()
	if ex.limit == 0 {
		ex.mu.Unlock()
		panic("group: Executor used without NewExecutor")
	}
	if ex.closed {
		ex.mu.Unlock()
		return ErrClosed
	}
	// Invariant: running < limit implies an empty queue and no waiters.
	if ex.running < ex.limit {
		ex.counts.submitted++
		w := ex.startLocked(t)
		ex.unlock()
		if w != nil {
			w.wake <- t // outside the lock, which the worker then takes sooner
		}
		return nil
	}
	if ex.queue.len() < ex.capacity && ex.waiters.head == nil {
		ex.counts.submitted++
		ex.pushLocked(t)
		ex.unlock()
		return nil
	}
	if !wait {
		ex.mu.Unlock()
		ex.rejected.Add(1)
		return ErrFull
	}
	w := &execWaiter{t: t, ready: make(chan struct{})}
	ex.waiters.push(w)
	ex.unlock()
	select {
	case <-w.ready:
		return w.err
	case <-ctx.Done():
	}
	ex.mu.Lock()
	if w.queued {
		ex.waiters.remove(w)
		ex.unlock()
		ex.rejected.Add(1)
		return context.Cause(ctx)
	}
	ex.mu.Unlock()
	<-w.ready // settled by whoever dequeued w: accepted or closed
	return w.err
}

// execWaitSample is how many queued tasks there are for each one whose
// wait is timed: a clock read costs as much as the rest of a task's trip
// through the queue (BenchmarkExecutorTiny).
const execWaitSample = 16

// pushLocked queues t.
func (ex *Executor) pushLocked(t execTask) {
	if ex.queue.seq%execWaitSample == 0 {
		t.enq = execNow()
	}
	if t.fut != nil {
		t.fut.core().state = futureQueued
	}
	ex.queue.push(t)
}

// startLocked starts t on a new worker, or takes an idle worker for it and
// returns that worker, to which the caller must send t (a send that never
// blocks: an idle worker's slot is empty), with or without the lock.
func (ex *Executor) startLocked(t execTask) *execWorker {
	ex.running++
	if t.fut != nil {
		t.fut.core().state = futureRunning
	}
	if n := len(ex.idlers); n > 0 {
		w := ex.idlers[n-1]
		ex.idlers[n-1] = nil
		ex.idlers = ex.idlers[:n-1]
		w.idle = false
		return w
	}
	ex.workers++
	ex.wg.Add(1)
	w := &execWorker{ex: ex, wake: make(chan execTask, 1)}
	go w.loop(t)
	return nil
}

// startNowLocked is startLocked for a caller that sends under the lock.
func (ex *Executor) startNowLocked(t execTask) {
	if w := ex.startLocked(t); w != nil {
		w.wake <- t
	}
}

// nextLocked returns the task a worker that has just finished one should run
// next, if the limit allows one, and admits blocked Submit calls to the room
// that frees.
func (ex *Executor) nextLocked() (execTask, bool) {
	var t execTask
	ok := false
	if ex.running < ex.limit {
		if t, ok = ex.queue.pop(); ok {
			ex.counts.dequeued++
			if t.fut != nil {
				t.fut.core().state = futureRunning
			}
		} else if w := ex.waiters.head; w != nil {
			ex.waiters.remove(w)
			t, ok = w.t, true
			if t.fut != nil {
				t.fut.core().state = futureRunning
			}
			ex.counts.submitted++
			close(w.ready)
		}
		if ok {
			ex.running++
		}
	}
	ex.admitLocked()
	return t, ok
}

// admitLocked starts or queues the tasks of blocked Submit calls while there
// is room, in the order the calls arrived.
func (ex *Executor) admitLocked() {
	for w := ex.waiters.head; w != nil; w = ex.waiters.head {
		switch {
		case ex.running < ex.limit && ex.queue.len() == 0:
			ex.waiters.remove(w)
			ex.counts.submitted++
			ex.startNowLocked(w.t)
		case ex.queue.len() < ex.capacity:
			ex.waiters.remove(w)
			ex.counts.submitted++
			ex.pushLocked(w.t)
		default:
			return
		}
		close(w.ready)
	}
}

// fillLocked starts queued tasks while the limit allows.
func (ex *Executor) fillLocked() {
	for ex.running < ex.limit {
		t, ok := ex.queue.pop()
		if !ok {
			break
		}
		ex.counts.dequeued++
		ex.addWait(t)
		ex.startNowLocked(t)
	}
	ex.admitLocked()
}

// queueWait estimates the total time the tasks started from the queue spent
// there: the mean of the timed ones times their number. ex.mu is held.
func (ex *Executor) queueWait() time.Duration {
	n, sum := ex.timed.Load(), ex.waitNs.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(float64(sum) / float64(n) * float64(ex.counts.dequeued))
}

// addWait adds the time t spent in the queue to the total, if t was timed.
func (ex *Executor) addWait(t execTask) {
	if t.enq != 0 {
		ex.waitNs.Add(execNow() - t.enq)
		ex.timed.Add(1)
	}
}

// unlock publishes the flags TrySubmit reads and unlocks ex.mu.
func (ex *Executor) unlock() {
	f := uint32(execLive)
	if ex.closed {
		f |= execClosed
	} else if ex.running >= ex.limit && (ex.queue.len() >= ex.capacity || ex.waiters.head != nil) {
		f |= execFull
	}
	if ex.flags.Load() != f {
		ex.flags.Store(f)
	}
	ex.checkDrainedLocked()
	ex.mu.Unlock()
}

// checkDrainedLocked closes drained once Shutdown was called and no task is
// left to run.
func (ex *Executor) checkDrainedLocked() {
	if ex.closed && ex.running == 0 && ex.queue.len() == 0 && ex.drained != nil {
		select {
		case <-ex.drained:
		default:
			close(ex.drained)
		}
	}
}

// SetLimit sets the number of tasks that may run at once to n. Raising it
// starts queued tasks at once; lowering it interrupts no running task, and
// no queued task starts until fewer than n are running. SetLimit panics if
// n < 1.
func (ex *Executor) SetLimit(n int) {
	if n < 1 {
		panic(fmt.Sprintf("group: SetLimit(%d): n must be at least 1", n))
	}
	ex.mu.Lock()
	if ex.limit == 0 {
		ex.mu.Unlock()
		panic("group: Executor used without NewExecutor")
	}
	ex.limit = n
	ex.fillLocked()
	ex.unlock()
}

// Stats returns a snapshot of ex's state and counters.
func (ex *Executor) Stats() ExecutorStats {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.limit == 0 {
		panic("group: Executor used without NewExecutor")
	}
	return ExecutorStats{
		Limit:     ex.limit,
		Workers:   ex.workers,
		Running:   ex.running,
		Queued:    ex.queue.len(),
		Waiting:   ex.waiters.n,
		Submitted: ex.counts.submitted,
		Completed: ex.counts.completed,
		Failed:    ex.counts.failed,
		Panicked:  ex.counts.panicked,
		Cancelled: ex.counts.cancelled,
		Dropped:   ex.counts.dropped,
		Rejected:  uint64(ex.rejected.Load()),
		QueueWait: ex.queueWait(),
	}
}

// Shutdown stops ex accepting tasks (Submit, TrySubmit and SubmitFunc return
// ErrClosed, including the Submit calls waiting for room now), then waits
// until every queued task has run and every task has returned.
//
// If ctx ends first, Shutdown cancels the context of the running tasks (the
// cause matches ErrClosed and ctx's cause), removes the queued tasks without
// running them (their Futures report an error matching ErrClosed), and still
// waits for the running tasks to return. It then returns an error that
// counts the tasks that never ran and wraps context.Cause(ctx).
//
// When Shutdown returns, every worker goroutine has returned. If a task
// without a Future panicked, Shutdown then re-panics with the first such
// panic as a *PanicError, or, with PanicAsError, returns it (joined with the
// error above). Shutdown may be called more than once and concurrently; every
// call waits and reports the same way. It panics if ctx is nil.
func (ex *Executor) Shutdown(ctx context.Context) error {
	if ctx == nil {
		panic("group: nil context")
	}
	ex.mu.Lock()
	if ex.limit == 0 {
		ex.mu.Unlock()
		panic("group: Executor used without NewExecutor")
	}
	if !ex.closed {
		ex.closed = true
		ex.drained = make(chan struct{})
		for w := ex.waiters.head; w != nil; w = ex.waiters.head {
			ex.waiters.remove(w)
			w.err = ErrClosed
			close(w.ready)
		}
	}
	drained := ex.drained
	ex.unlock()

	select {
	case <-drained:
	case <-ctx.Done():
		ex.stop(ctx)
		<-drained
	}
	ex.shutdown.Do(func() {
		ex.cancel(ErrClosed)
		ex.mu.Lock()
		for _, w := range ex.idlers {
			w.idle = false
			w.wake <- execTask{} // exit
		}
		ex.workers -= len(ex.idlers)
		clear(ex.idlers)
		ex.idlers = ex.idlers[:0]
		ex.mu.Unlock()
	})
	ex.wg.Wait()

	ex.mu.Lock()
	dropped, first, cause := ex.counts.dropped, ex.first, ex.stopErr
	ex.mu.Unlock()
	var err error
	if dropped > 0 {
		err = fmt.Errorf("group: Shutdown: %d accepted tasks never ran: %w", dropped, cause)
	}
	if first != nil {
		if !ex.cfg.panicAsError {
			panic(first)
		}
		err = errors.Join(err, first)
	}
	return err
}

// stop ends a Shutdown whose context ctx ended: it drops the queued tasks,
// then cancels the running ones. In that order: a task cancelled first could
// end and let its worker take a queued task, which would then run (with a
// cancelled context) instead of being reported as never run.
func (ex *Executor) stop(ctx context.Context) {
	cause := fmt.Errorf("%w: Shutdown's context ended: %w", ErrClosed, context.Cause(ctx))
	defer ex.cancel(cause)
	ex.mu.Lock()
	if ex.stopErr == nil {
		ex.stopErr = context.Cause(ctx)
		ex.queue.drain(func(t execTask) {
			ex.counts.dropped++
			if t.fut != nil {
				c := t.fut.core()
				c.level, c.state = nil, futureDropped
				c.finish(cause)
			}
		})
	}
	ex.unlock()
}

// An execWorker is one worker goroutine of an Executor.
type execWorker struct {
	ex   *Executor
	wake chan execTask // a task for this idle worker; a zero task: exit
	// The idle timeout: a timer armed when the worker goes idle with none
	// armed, which calls expire. An idle worker waits on wake alone: a
	// select on a timer's channel as well cost ExecutorFuture about 15%.
	timer *time.Timer
	armed bool // timer is armed and expire has not yet run; guarded by ex.mu
	used  bool // ran a task since the timer was armed; guarded by ex.mu
	idle  bool // in ex.idlers; guarded by ex.mu

	// ctx is the context of the worker's Future tasks, made on first use
	// and again after a Cancel has cancelled it: one per worker rather than
	// one per task (BenchmarkExecutorFuture).
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// context returns the worker's context for a Future task.
func (w *execWorker) context() (context.Context, context.CancelCauseFunc) {
	if w.ctx == nil || w.ctx.Err() != nil {
		if w.cancel != nil {
			w.cancel(nil)
		}
		w.ctx, w.cancel = context.WithCancelCause(w.ex.ctx)
	}
	return w.ctx, w.cancel
}

// loop runs t, then the tasks the Executor gives the worker, until it is
// idle for long enough or the Executor shuts down.
func (w *execWorker) loop(t execTask) {
	ex := w.ex
	defer ex.wg.Done()
	if ex.cfg.name != "" {
		pprof.SetGoroutineLabels(ex.ctx)
	}
	for {
		pe, err := w.run(&t)
		ex.mu.Lock()
		w.used = true
		ex.endLocked(t.fut, err, pe)
		next, ok := ex.nextLocked()
		exit := !ok && (ex.closed || ex.workers > ex.limit)
		switch {
		case exit:
			ex.workers--
		case !ok:
			w.idle = true
			ex.idlers = append(ex.idlers, w)
			if !w.armed {
				if w.timer == nil {
					w.timer = time.AfterFunc(ex.idle, w.expire)
				} else {
					w.timer.Reset(ex.idle)
				}
				w.armed, w.used = true, false
			}
		}
		ex.unlock()
		if t.fut != nil {
			t.fut.core().finish(err) // wakes its waiters, outside the lock
		}
		switch {
		case ok:
			ex.addWait(next)
			t = next
		case exit:
			w.release()
			return
		default:
			if t = <-w.wake; t.fn == nil && t.fut == nil { // told to exit
				w.release()
				return
			}
		}
	}
}

// expire runs when the idle timer of w fires: a worker idle since the timer
// was armed exits; one that has run a task since gets another period.
func (w *execWorker) expire() {
	ex := w.ex
	ex.mu.Lock()
	switch {
	case !w.idle: // busy, or exiting: it arms the timer again when idle
		w.armed = false
	case w.used:
		w.used = false
		w.timer.Reset(ex.idle)
	default:
		w.armed = false
		ex.idlers = slices.DeleteFunc(ex.idlers, func(v *execWorker) bool { return v == w })
		w.idle = false
		ex.workers--
		w.wake <- execTask{} // exit; never blocks: an idle worker's slot is empty
	}
	ex.unlock()
}

// endLocked counts a task that ended with err, or with the panic pe. The
// caller then settles its Future, if it has one, with finish: after this,
// so that Stats counts a task by the time its Future's Wait returns.
func (ex *Executor) endLocked(fut execFuture, err error, pe *PanicError) {
	future := fut != nil
	if future {
		fut.core().state = futureDone
	}
	ex.running--
	ex.counts.completed++
	switch {
	case pe != nil:
		ex.counts.panicked++
		if !future && ex.first == nil {
			ex.first = pe
		}
	case err != nil:
		ex.counts.failed++
	}
}

// run runs t and returns its error or panic. If t calls runtime.Goexit, run
// settles t and the worker's accounts before the goroutine ends.
func (w *execWorker) run(t *execTask) (pe *PanicError, err error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		r := panics.From(recover())
		pe = newPanicError(r)
		err = pe
		if r.Goexit {
			w.goexit(t, pe)
		}
	}()
	if t.fut != nil {
		err = t.fut.call(w)
	} else {
		err = t.fn(w.ex.ctx)
	}
	normal = true
	return nil, err
}

// goexit settles t, which called runtime.Goexit, and removes the worker,
// whose goroutine is ending; a new worker takes over the queue if needed.
func (w *execWorker) goexit(t *execTask, pe *PanicError) {
	ex := w.ex
	ex.mu.Lock()
	ex.endLocked(t.fut, pe, pe)
	if t.fut != nil {
		t.fut.core().finish(pe)
	}
	ex.workers--
	ex.fillLocked()
	ex.unlock()
	w.release()
}

// release stops the idle timer of a worker that exits, and releases its
// context.
func (w *execWorker) release() {
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.cancel != nil {
		w.cancel(nil)
	}
}

// execWaiter is a Submit call blocked for room in the queue.
type execWaiter struct {
	t          execTask
	ready      chan struct{} // closed once accepted (err nil) or refused
	err        error
	queued     bool // in the list; guarded by Executor.mu
	prev, next *execWaiter
}

// execWaiters is a FIFO list of waiters.
type execWaiters struct {
	head, tail *execWaiter
	n          int
}

func (l *execWaiters) push(w *execWaiter) {
	w.queued = true
	w.prev = l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *execWaiters) remove(w *execWaiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	l.n--
}

// States of a futureCore.
const (
	futureNew     = iota // not yet accepted
	futureQueued         // in the queue
	futureRunning        // handed to a worker
	futureDone           // returned, panicked, or called Goexit
	futureDropped        // cancelled or dropped before it ran
)

// errFutureCancelled is a Future's error when Cancel removed its task from the
// queue.
var errFutureCancelled = fmt.Errorf("group: Future cancelled before its task ran: %w", context.Canceled)

// futureCore is the part of a Future that does not depend on its type.
type futureCore struct {
	ex    *Executor
	err   error      // set before finished
	state int        // guarded by ex.mu
	level *execLevel // the ring it is queued in; guarded by ex.mu

	finished atomic.Bool    // err (and the value) are set
	wg       sync.WaitGroup // done once finished: Wait without a channel

	mu        sync.Mutex              // guards the fields below
	ch        chan struct{}           // made on demand; closed once finished
	closed    bool                    // finished, seen under mu
	cancel    context.CancelCauseFunc // the running worker's, while it runs the task
	cancelled bool                    // Cancel was called
}

// execFuture is what the queue holds of a Future.
type execFuture interface {
	core() *futureCore
	call(w *execWorker) error // runs the task on w, storing its value
}

// finish settles the future with err. Its state is the caller's business.
func (c *futureCore) finish(err error) {
	c.err = err
	c.finished.Store(true)
	c.mu.Lock()
	c.closed = true
	c.cancel = nil // the worker moves on: Cancel must not reach its next task
	if c.ch != nil {
		close(c.ch)
	}
	c.mu.Unlock()
	c.wg.Done()
}

// done returns a channel closed once c is finished, making it on first use:
// a Future waited for with a context that is never done needs none
// (BenchmarkExecutorFuture).
func (c *futureCore) done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
		if c.closed {
			close(c.ch)
		}
	}
	return c.ch
}

// A Future is the pending result of a task submitted with SubmitFunc.
// Its methods are safe for concurrent use.
type Future[T any] struct {
	c   futureCore
	fn  func(context.Context) (T, error)
	val T
}

func (f *Future[T]) core() *futureCore { return &f.c }

// call runs the task with the worker's cancellable context, which Cancel
// reaches through f.c.cancel while the task runs.
func (f *Future[T]) call(w *execWorker) error {
	ctx, cancel := w.context()
	f.c.mu.Lock()
	f.c.cancel = cancel
	cancelled := f.c.cancelled
	f.c.mu.Unlock()
	if cancelled {
		cancel(context.Canceled)
	}
	v, err := f.fn(ctx)
	f.val = v
	return err
}

// Wait waits for the task to end and returns its value and error. A panic
// in the task (or a call to runtime.Goexit) is returned as a *PanicError
// with the task's stack. If the Future was cancelled before its task ran,
// the error matches context.Canceled; if Shutdown dropped the task, it
// matches ErrClosed. If ctx ends first, Wait returns the zero T and
// context.Cause(ctx), and the task goes on. Wait may be called any number of
// times. It panics if ctx is nil.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if ctx == nil {
		panic("group: nil context")
	}
	if f.c.ex == nil {
		panic("group: Future used without SubmitFunc")
	}
	if !f.c.finished.Load() {
		if d := ctx.Done(); d == nil {
			f.c.wg.Wait()
		} else {
			select {
			case <-f.c.done():
			case <-d:
				var zero T
				return zero, context.Cause(ctx)
			}
		}
	}
	return f.val, f.c.err
}

// Done returns a channel that is closed once the task has ended, or has been
// cancelled or dropped before it ran: then Wait returns at once.
func (f *Future[T]) Done() <-chan struct{} {
	if f.c.ex == nil {
		panic("group: Future used without SubmitFunc")
	}
	return f.c.done()
}

// Cancel cancels the task. A queued task leaves the queue at once and never
// runs; Wait then returns an error matching context.Canceled. A running
// task's context is cancelled with cause context.Canceled, and Wait returns
// whatever the task returns. Cancel does nothing once the task has ended.
func (f *Future[T]) Cancel() {
	ex := f.c.ex
	if ex == nil {
		panic("group: Future used without SubmitFunc")
	}
	ex.mu.Lock()
	if f.c.state == futureQueued {
		f.c.state = futureDropped
		ex.queue.remove(&f.c)
		ex.counts.cancelled++
		f.c.finish(errFutureCancelled)
		ex.admitLocked() // the room it leaves goes to a blocked Submit
		ex.unlock()
		return
	}
	ex.mu.Unlock()
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	f.c.cancelled = true
	if f.c.cancel != nil { // running: under mu, so not the worker's next task
		f.c.cancel(context.Canceled)
	}
}

// execEpoch is the origin of execNow.
var execEpoch = time.Now()

// execNow returns monotonic nanoseconds since execEpoch, never 0.
func execNow() int64 { return int64(time.Since(execEpoch)) + 1 }
