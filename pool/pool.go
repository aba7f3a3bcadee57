package pool

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/panics"
)

// ErrClosed is returned by Acquire once Close has been called, including to
// the callers already waiting in Acquire when Close is called.
var ErrClosed = errors.New("pool: closed")

// ErrBroken marks an error as meaning that the resource it came from is
// unusable: With destroys the resource instead of releasing it when the
// function it runs returns an error matching ErrBroken. Wrap it with the
// cause, as in fmt.Errorf("read reply: %w: %w", pool.ErrBroken, err).
var ErrBroken = errors.New("pool: resource broken")

// The states of a Resource. Every change happens under its pool's mu.
const (
	stateIdle uint8 = iota + 1
	stateInUse
	stateDestroyed
)

// Why a resource was destroyed: the index into Pool.destroyed.
const (
	causeBroken = iota
	causeIdle
	causeExpired
	causeUnhealthy
	causeClosed
	numCauses
)

// Pool is a pool of resources of type T: connections, clients, buffers, any
// value that is costly to create and can be reused. Acquire hands out an
// idle resource, or creates one while fewer than MaxSize exist, or waits in
// FIFO order for one to be released; Release gives it back and Destroy
// throws it away. Close stops the pool without hanging past its context.
//
// A Pool must be created with New and must not be copied. It is safe for
// concurrent use.
type Pool[T any] struct {
	create     func(context.Context) (T, error)
	destroyFn  func(T) // nil: resources need no cleanup
	check      func(context.Context, T) error
	broken     func(error) bool
	maxSize    int
	minIdle    int
	idleTTL    time.Duration
	lifetime   time.Duration
	checkAfter time.Duration
	// stamp is set when an option needs to know when resources were
	// created and last used: Release then reads the clock. vetting is set
	// when Acquire must look at an idle resource before handing it out
	// (MaxLifetime, Check): Acquire then reads the clock.
	stamp, vetting bool

	// closing is cancelled by Close; every create's context ends with it.
	closing   context.Context
	cancelAll context.CancelCauseFunc
	stop      chan struct{} // closed by Close to stop the background goroutine
	refill    chan struct{} // capacity 1: wakes the background goroutine
	drained   chan struct{} // closed when the pool is closed and nothing is out

	// waiters recycles waiters, so that waiting does not allocate. It is
	// per pool, so that a waiter's channel stays in the synctest bubble (if
	// any) that uses the pool.
	waiters sync.Pool

	waitCount atomic.Int64
	waitNanos atomic.Int64

	mu sync.Mutex
	// mu guards the fields below, and the state and lastUsed of every
	// Resource of the pool.
	idle       []*Resource[T] // a stack: the most recently released on top
	head, tail *waiter[T]     // Acquire calls waiting, oldest first
	waiting    int            // the length of the queue
	unassigned int            // waiters in the queue with no creation for them
	orphans    []*creation[T] // creations in flight for no waiter
	inUse      int            // acquired and not yet released or destroyed
	creating   int            // creates in flight
	destroying int            // destroy calls in flight
	closed     bool
	background bool // the background goroutine has not returned
	isDrained  bool // drained is closed

	acquired     int64
	cancelled    int64
	created      int64
	createErrors int64
	destroyed    [numCauses]int64
}

// Resource is one resource acquired from a Pool. Call Value to use it, then
// exactly one of Release (it goes back to the pool) or Destroy (it is
// broken). A Resource must not be used after Release or Destroy: the pool
// reuses the same *Resource for the next Acquire of the same value, so a
// late call could act on someone else's acquisition. A second Release or
// Destroy panics when the pool can tell (the resource is idle or destroyed).
type Resource[T any] struct {
	value    T
	p        *Pool[T]
	created  time.Time // when create returned; zero unless the pool stamps
	lastUsed time.Time // when it was last released or created
	state    uint8
}

// waiter is an Acquire call waiting in the queue.
type waiter[T any] struct {
	ready chan struct{} // capacity 1: receives once the waiter is signalled
	ctx   context.Context
	// Set under mu before the send on ready: the resource handed over, or
	// the error to return.
	signalled  bool
	res        *Resource[T]
	err        error
	repanic    bool         // err is a *panics.Recovered from create
	c          *creation[T] // the create in flight for this waiter, if any
	prev, next *waiter[T]
}

// creation is a call of create in flight. w is the waiter it was made for:
// the one that gets its error if it fails. It is nil when that waiter has
// left the queue (served, cancelled) and no other one could adopt it; a
// successful creation always goes to the waiter at the head of the queue,
// or to the idle stack.
type creation[T any] struct {
	w *waiter[T]
}

// New returns a pool that makes resources with create and disposes of them
// with destroy. create gets a context carrying the values of the Acquire
// call that needed the resource; it is not cancelled when that Acquire
// gives up (the resource then goes to the next caller or to the pool), but
// it is cancelled, with cause ErrClosed, when the pool is closed. A create
// that ignores its context keeps Close waiting until Close's own context
// ends. destroy may be nil when resources need no cleanup; it must not block
// for long, since Close calls it for every idle resource.
//
// With MinIdle, IdleTTL or MaxLifetime, New starts a background goroutine
// that Close stops: call Close when done with the pool.
//
// New panics if create is nil, if MinIdle exceeds MaxSize, or if a Check
// function takes another type than T.
func New[T any](create func(ctx context.Context) (T, error), destroy func(T), opts ...Option) *Pool[T] {
	if create == nil {
		panic("pool: New: nil create function")
	}
	c := config{checkAfter: DefaultCheckAfter}
	for _, o := range opts {
		if o == nil {
			panic("pool: New: nil Option")
		}
		o(&c)
	}
	if !c.maxSizeSet {
		c.maxSize = max(defaultMaxSize(), c.minIdle)
	}
	if c.minIdle > c.maxSize {
		panic(fmt.Sprintf("pool: New: MinIdle(%d) exceeds MaxSize(%d)", c.minIdle, c.maxSize))
	}
	p := &Pool[T]{
		create:     create,
		destroyFn:  destroy,
		broken:     c.broken,
		maxSize:    c.maxSize,
		minIdle:    c.minIdle,
		idleTTL:    c.idleTTL,
		lifetime:   c.maxLifetime,
		checkAfter: c.checkAfter,
		drained:    make(chan struct{}),
		idle:       make([]*Resource[T], 0, min(c.maxSize, 64)),
	}
	if c.check != nil {
		fn, ok := c.check.(func(context.Context, T) error)
		if !ok {
			panic(fmt.Sprintf("pool: New: Check(%T) given to a Pool of %v", c.check, reflect.TypeFor[T]()))
		}
		p.check = fn
	}
	p.vetting = p.check != nil || p.lifetime > 0
	p.stamp = p.vetting || p.idleTTL > 0
	p.closing, p.cancelAll = context.WithCancelCause(context.Background())
	if p.minIdle > 0 || p.idleTTL > 0 || p.lifetime > 0 {
		p.stop = make(chan struct{})
		p.refill = make(chan struct{}, 1)
		p.background = true
		go p.run()
	}
	return p
}

// Acquire returns an idle resource, or creates one if fewer than MaxSize
// exist, or else waits until one is released. Waiting callers are served in
// the order they arrived. An idle resource past MaxLifetime is destroyed
// instead of being returned, and one idle for CheckAfter or more is
// checked first (see Check).
//
// When ctx ends first, including before the call, Acquire returns
// context.Cause(ctx) at once. A create started for it keeps running: its
// resource goes to the next caller waiting, or to the pool. After Close,
// Acquire returns ErrClosed. A failing create's error is returned to the
// caller it was started for, as create returned it; a create that
// panics re-panics in that caller. Acquire panics if ctx is nil.
//
// Acquiring an idle resource and releasing it does not allocate.
func (p *Pool[T]) Acquire(ctx context.Context) (*Resource[T], error) {
	if ctx == nil {
		panic("pool: nil context")
	}
	if ctx.Err() != nil {
		p.mu.Lock()
		p.cancelled++
		p.mu.Unlock()
		return nil, context.Cause(ctx)
	}
	for {
		p.mu.Lock()
		r := p.pop()
		if r == nil {
			return p.acquireSlow(ctx)
		}
		p.mu.Unlock()
		if !p.vetting {
			return r, nil
		}
		if ok, err := p.vet(ctx, r); ok || err != nil {
			if !ok {
				r = nil
			}
			return r, err
		}
	}
}

// TryAcquire returns an idle resource and true if there is one, and nil and
// false otherwise (the pool is empty, or closed). It never waits for a
// release and never creates a resource, but it runs Check, with
// context.Background, on a resource idle for CheckAfter or more.
func (p *Pool[T]) TryAcquire() (*Resource[T], bool) {
	for {
		p.mu.Lock()
		r := p.pop()
		if r == nil {
			if p.maxSize == 0 {
				p.mu.Unlock()
				panic("pool: Pool used without New")
			}
			p.mu.Unlock()
			return nil, false
		}
		p.mu.Unlock()
		if !p.vetting {
			return r, true
		}
		if ok, _ := p.vet(context.Background(), r); ok {
			return r, true
		}
	}
}

// pop takes the top idle resource and marks it in use, or returns nil. The
// idle stack is never non-empty while callers wait, so taking from it
// overtakes no one. It is called with mu held.
func (p *Pool[T]) pop() *Resource[T] {
	n := len(p.idle) - 1
	if n < 0 {
		return nil
	}
	r := p.idle[n]
	p.idle[n] = nil
	p.idle = p.idle[:n]
	r.state = stateInUse
	p.inUse++
	p.acquired++
	if p.minIdle > 0 {
		p.wakeRefill()
	}
	return r
}

// vet decides whether r, just taken from the idle stack, can be handed out:
// ok when it can. Otherwise r is destroyed (expired, failed its check) and
// err is nil, or it is back in the pool and err is ctx's cause.
func (p *Pool[T]) vet(ctx context.Context, r *Resource[T]) (ok bool, err error) {
	now := time.Now()
	if p.lifetime > 0 && now.Sub(r.created) >= p.lifetime {
		p.discard(r, causeExpired)
		return false, nil
	}
	if p.check == nil || now.Sub(r.lastUsed) < p.checkAfter {
		return true, nil
	}
	returned := false
	defer func() {
		if !returned { // Check panicked: the resource's state is unknown
			p.discard(r, causeUnhealthy)
		}
	}()
	cerr := p.check(ctx, r.value)
	returned = true
	if cerr == nil {
		return true, nil
	}
	if ctx.Err() != nil {
		p.release(r, false, time.Time{})
		p.mu.Lock()
		p.cancelled++
		p.mu.Unlock()
		return false, context.Cause(ctx)
	}
	p.discard(r, causeUnhealthy)
	return false, nil
}

// acquireSlow queues an Acquire that found no idle resource, starts a
// create for it if there is room, and waits. It is called with mu held and
// unlocks it.
func (p *Pool[T]) acquireSlow(ctx context.Context) (*Resource[T], error) {
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if p.maxSize == 0 {
		p.mu.Unlock()
		panic("pool: Pool used without New")
	}
	w, _ := p.waiters.Get().(*waiter[T])
	if w == nil {
		w = &waiter[T]{ready: make(chan struct{}, 1)}
	}
	w.ctx = ctx
	p.enqueue(w)
	if n := len(p.orphans); n > 0 {
		c := p.orphans[n-1]
		p.orphans[n-1] = nil
		p.orphans = p.orphans[:n-1]
		p.assign(c, w)
	} else {
		p.pump()
	}
	p.mu.Unlock()

	start := time.Now()
	if done := ctx.Done(); done == nil {
		<-w.ready
	} else {
		select {
		case <-w.ready:
		case <-done:
			p.mu.Lock()
			if !w.signalled {
				p.leave(w)
				p.cancelled++
				p.mu.Unlock()
				p.waited(start)
				p.recycle(w)
				return nil, context.Cause(ctx)
			}
			p.mu.Unlock()
			<-w.ready // sent under mu, so already buffered
		}
	}
	p.waited(start)
	r, err, repanic := w.res, w.err, w.repanic
	p.recycle(w)
	if repanic {
		panic(err) // a *panics.Recovered, with create's stack
	}
	return r, err
}

func (p *Pool[T]) waited(start time.Time) {
	p.waitCount.Add(1)
	p.waitNanos.Add(int64(time.Since(start)))
}

func (p *Pool[T]) recycle(w *waiter[T]) {
	*w = waiter[T]{ready: w.ready}
	p.waiters.Put(w)
}

// enqueue adds w at the tail of the queue. It is called with mu held.
func (p *Pool[T]) enqueue(w *waiter[T]) {
	w.prev = p.tail
	if p.tail == nil {
		p.head = w
	} else {
		p.tail.next = w
	}
	p.tail = w
	p.waiting++
	p.unassigned++
}

// leave removes w from the queue. The create in flight for it, if any, is
// passed to the first waiter that has none, or orphaned. It is called with
// mu held.
func (p *Pool[T]) leave(w *waiter[T]) {
	if w.prev == nil {
		p.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		p.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	p.waiting--
	c := w.c
	if c == nil {
		p.unassigned--
		return
	}
	w.c, c.w = nil, nil
	if x := p.firstUnassigned(); x != nil {
		p.assign(c, x)
	} else {
		p.orphans = append(p.orphans, c)
	}
}

// assign makes c the create in flight for w, which has none.
func (p *Pool[T]) assign(c *creation[T], w *waiter[T]) {
	c.w, w.c = w, c
	p.unassigned--
}

// firstUnassigned returns the oldest waiter with no create in flight for
// it, or nil. It is called with mu held.
func (p *Pool[T]) firstUnassigned() *waiter[T] {
	if p.unassigned == 0 || p.closed {
		return nil
	}
	for w := p.head; w != nil; w = w.next {
		if w.c == nil {
			return w
		}
	}
	return nil
}

// signal hands w its outcome. w has left the queue. It is called with mu
// held.
func (p *Pool[T]) signal(w *waiter[T], r *Resource[T], err error) {
	w.signalled, w.res, w.err = true, r, err
	w.ready <- struct{}{}
}

// total is the number of resources counted against MaxSize. It is called
// with mu held.
func (p *Pool[T]) total() int {
	return len(p.idle) + p.inUse + p.creating + p.destroying
}

// pump starts a create for each waiter that has none, oldest first, while
// there is room: the pool creates no more resources than callers wait for.
// It is called with mu held.
func (p *Pool[T]) pump() {
	for p.unassigned > 0 && !p.closed && p.total() < p.maxSize {
		w := p.firstUnassigned()
		c := &creation[T]{}
		p.assign(c, w)
		p.creating++
		go p.runCreate(c, w.ctx)
	}
}

// runCreate calls create for c and hands the outcome on. It returns the
// error of create. ctx supplies the values of create's context.
func (p *Pool[T]) runCreate(c *creation[T], ctx context.Context) (err error) {
	cctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(p.closing, func() { cancel(context.Cause(p.closing)) })
	var v T
	returned := false
	defer func() {
		stop()
		cancel(nil)
		var rec *panics.Recovered
		if !returned { // create panicked or called runtime.Goexit
			rec = panics.From(recover())
			err = rec
		}
		p.finish(c, v, err, rec)
	}()
	v, err = p.create(cctx)
	returned = true
	return err
}

// finish hands the outcome of creation c on: a new resource to the waiter
// at the head of the queue, or to the idle stack (or to destroy, if the
// pool is closed); an error to the waiter c was for. rec is set (and err is
// rec) when create panicked: the waiter re-panics with it, and with no
// waiter finish does.
func (p *Pool[T]) finish(c *creation[T], v T, err error, rec *panics.Recovered) {
	var now time.Time
	if p.stamp {
		now = time.Now()
	}
	p.mu.Lock()
	p.creating--
	w := c.w
	if w != nil {
		w.c, c.w = nil, nil
		p.unassigned++
	} else {
		for i, o := range p.orphans {
			if o == c {
				n := len(p.orphans) - 1
				copy(p.orphans[i:], p.orphans[i+1:])
				p.orphans[n] = nil
				p.orphans = p.orphans[:n]
				break
			}
		}
	}
	if err != nil {
		p.createErrors++
		if w != nil {
			p.leave(w)
			w.repanic = rec != nil
			p.signal(w, nil, err)
		}
		p.pump()
		p.checkDrained()
		p.mu.Unlock()
		if rec != nil && w == nil && !rec.Goexit {
			rec.Repanic() // no caller to hand it to: never swallow a panic
		}
		return
	}
	p.created++
	r := &Resource[T]{value: v, p: p, created: now, lastUsed: now}
	if p.closed {
		p.startDestroy(r, causeClosed)
		p.mu.Unlock()
		p.destroy(r)
		return
	}
	p.put(r)
	p.pump()
	p.mu.Unlock()
}

// put hands r, which is not in use, to the waiter at the head of the queue,
// or pushes it on the idle stack. It is called with mu held.
func (p *Pool[T]) put(r *Resource[T]) {
	if w := p.head; w != nil {
		p.leave(w)
		r.state = stateInUse
		p.inUse++
		p.acquired++
		p.signal(w, r, nil)
		return
	}
	r.state = stateIdle
	p.idle = append(p.idle, r)
}

// Value returns the resource.
func (r *Resource[T]) Value() T { return r.value }

// Release gives the resource back to the pool: to the caller waiting
// longest in Acquire, or to the idle resources. A resource past
// MaxLifetime, or released after Close, is destroyed instead. Release
// panics if the resource is not in use (released or destroyed already).
func (r *Resource[T]) Release() {
	p := r.p
	if p == nil {
		panic("pool: Resource used without Pool.Acquire")
	}
	var now time.Time
	if p.stamp {
		now = time.Now()
	}
	p.release(r, true, now)
}

// release is Release; lastUsed is updated to now only when used is set.
func (p *Pool[T]) release(r *Resource[T], used bool, now time.Time) {
	p.mu.Lock()
	if r.state != stateInUse {
		p.mu.Unlock()
		panic("pool: Release of a Resource that is not in use (released or destroyed twice?)")
	}
	p.inUse--
	cause := -1
	if p.closed {
		cause = causeClosed
	} else if p.lifetime > 0 && used && now.Sub(r.created) >= p.lifetime {
		cause = causeExpired
	}
	if cause >= 0 {
		p.startDestroy(r, cause)
		p.mu.Unlock()
		p.destroy(r)
		return
	}
	if used {
		r.lastUsed = now
	}
	p.put(r)
	p.mu.Unlock()
}

// Destroy removes the resource from the pool and calls the pool's destroy
// function on it, in the calling goroutine; the pool may then create a
// replacement for a waiting caller. Use it when the resource is broken.
// Destroy panics if the resource is not in use (released or destroyed
// already).
func (r *Resource[T]) Destroy() {
	p := r.p
	if p == nil {
		panic("pool: Resource used without Pool.Acquire")
	}
	p.mu.Lock()
	if r.state != stateInUse {
		p.mu.Unlock()
		panic("pool: Destroy of a Resource that is not in use (released or destroyed twice?)")
	}
	p.inUse--
	p.startDestroy(r, causeBroken)
	p.mu.Unlock()
	p.destroy(r)
}

// discard destroys r, which is in use, for cause.
func (p *Pool[T]) discard(r *Resource[T], cause int) {
	p.mu.Lock()
	p.inUse--
	p.startDestroy(r, cause)
	p.mu.Unlock()
	p.destroy(r)
}

// startDestroy marks r destroyed and counts it as being destroyed, which
// keeps its place under MaxSize until destroy returns. It is called with mu
// held; the caller then calls p.destroy(r) without it.
func (p *Pool[T]) startDestroy(r *Resource[T], cause int) {
	r.state = stateDestroyed
	p.destroying++
	p.destroyed[cause]++
}

// destroy calls the destroy function on r, then frees its place: a waiter
// may get a create, MinIdle a refill, Close its return.
func (p *Pool[T]) destroy(r *Resource[T]) {
	defer func() {
		p.mu.Lock()
		p.destroying--
		p.pump()
		if p.minIdle > 0 {
			p.wakeRefill()
		}
		p.checkDrained()
		p.mu.Unlock()
	}()
	if p.destroyFn != nil {
		p.destroyFn(r.value)
	}
}

// checkDrained closes drained once the pool is closed and nothing is out.
// It is called with mu held.
func (p *Pool[T]) checkDrained() {
	if p.closed && !p.isDrained && p.inUse == 0 && p.creating == 0 && p.destroying == 0 && !p.background {
		p.isDrained = true
		close(p.drained)
	}
}

// Close closes the pool: Acquire returns ErrClosed from now on, and so do
// the calls already waiting in it; creates in flight are cancelled (their
// context's cause is ErrClosed), and what they make is destroyed; idle
// resources are destroyed now, in the calling goroutine; resources in use
// are destroyed when they are released; the background goroutine stops.
//
// Close then waits until every resource is destroyed and every create has
// returned, or until ctx ends: then it returns an error that says how many
// resources are still out and wraps context.Cause(ctx). It returns nil when
// nothing is left. Close may be called more than once; each call waits the
// same way. Close panics if ctx is nil.
func (p *Pool[T]) Close(ctx context.Context) error {
	if ctx == nil {
		panic("pool: nil context")
	}
	p.mu.Lock()
	if p.maxSize == 0 {
		p.mu.Unlock()
		panic("pool: Pool used without New")
	}
	var idle []*Resource[T]
	if !p.closed {
		p.closed = true
		idle = p.idle
		p.idle = nil
		for _, r := range idle {
			p.startDestroy(r, causeClosed)
		}
		for p.head != nil {
			w := p.head
			p.leave(w)
			p.signal(w, nil, ErrClosed)
		}
		p.cancelAll(ErrClosed)
		if p.stop != nil {
			close(p.stop)
		}
		p.checkDrained()
	}
	p.mu.Unlock()
	for _, r := range idle {
		p.destroy(r)
	}
	select {
	case <-p.drained:
		return nil
	default:
	}
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	inUse, creating, destroying := p.inUse, p.creating, p.destroying
	p.mu.Unlock()
	select {
	case <-p.drained: // drained as ctx ended
		return nil
	default:
	}
	return fmt.Errorf("pool: Close: %d resources still out (%d in use, %d being created, %d being destroyed): %w",
		inUse+creating+destroying, inUse, creating, destroying, context.Cause(ctx))
}

// Stats is a snapshot of a pool's state and counters.
type Stats struct {
	MaxSize    int // the pool's MaxSize
	Idle       int // resources ready in the pool
	InUse      int // resources acquired and not yet released or destroyed
	Creating   int // creates in flight
	Destroying int // destroy calls in flight
	// Total is Idle+InUse+Creating+Destroying, the number counted against
	// MaxSize: it never exceeds MaxSize.
	Total   int
	Waiting int // Acquire calls waiting now

	Acquired  int64         // resources handed out by Acquire and TryAcquire
	WaitCount int64         // Acquire calls that had to wait, however they ended
	WaitTime  time.Duration // the total time those calls waited
	Cancelled int64         // Acquire calls that returned because their ctx ended

	Created      int64 // successful creates
	CreateErrors int64 // creates that failed (or panicked)

	// Destroyed counts the resources destroyed (or being destroyed), by
	// every cause; the fields after it split it by cause.
	Destroyed          int64
	DestroyedBroken    int64 // by Resource.Destroy, or by With on a broken error or a panic
	DestroyedIdle      int64 // by IdleTTL
	DestroyedExpired   int64 // by MaxLifetime
	DestroyedUnhealthy int64 // by a failed Check
	DestroyedClosed    int64 // by Close, or when released or created after it
}

// Stats returns a snapshot of the pool's state and counters.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.maxSize == 0 {
		panic("pool: Pool used without New")
	}
	s := Stats{
		MaxSize:            p.maxSize,
		Idle:               len(p.idle),
		InUse:              p.inUse,
		Creating:           p.creating,
		Destroying:         p.destroying,
		Total:              p.total(),
		Waiting:            p.waiting,
		Acquired:           p.acquired,
		WaitCount:          p.waitCount.Load(),
		WaitTime:           time.Duration(p.waitNanos.Load()),
		Cancelled:          p.cancelled,
		Created:            p.created,
		CreateErrors:       p.createErrors,
		DestroyedBroken:    p.destroyed[causeBroken],
		DestroyedIdle:      p.destroyed[causeIdle],
		DestroyedExpired:   p.destroyed[causeExpired],
		DestroyedUnhealthy: p.destroyed[causeUnhealthy],
		DestroyedClosed:    p.destroyed[causeClosed],
	}
	for _, n := range p.destroyed {
		s.Destroyed += n
	}
	return s
}

// With acquires a resource from p, calls fn with it, and gives it back:
// released when fn returns nil or an ordinary error, destroyed when fn
// returns an error matching ErrBroken (or one the Broken option
// classifies as broken), and destroyed when fn panics, before the panic goes
// on up the stack with its original stack trace. It returns Acquire's error,
// or fn's. With panics if fn is nil.
func With[T any](ctx context.Context, p *Pool[T], fn func(ctx context.Context, v T) error) error {
	if fn == nil {
		panic("pool: nil function")
	}
	r, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			r.Destroy()
		}
	}()
	err = fn(ctx, r.value)
	returned = true
	if err != nil && (errors.Is(err, ErrBroken) || p.broken != nil && p.broken(err)) {
		r.Destroy()
	} else {
		r.Release()
	}
	return err
}
