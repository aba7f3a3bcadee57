package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftgo/weft/internal/notify"
	"github.com/weftgo/weft/internal/observe"
	"github.com/weftgo/weft/internal/stripe"
)

// State is the state of a Breaker.
type State uint8

const (
	// Closed lets every call through and counts the outcomes.
	Closed State = iota
	// Open rejects every call with an error wrapping ErrOpen.
	Open
	// HalfOpen lets a few probe calls through to decide whether to close.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Stats is a snapshot of a Breaker.
type Stats struct {
	// State is the current state.
	State State
	// Calls, Failures and Slow count the calls in the rate window, which is
	// cleared when the breaker closes (a failure or slow call is also one
	// of the Calls). They are zero when neither FailureRate nor SlowCalls
	// is configured. While half-open they count the finished probes.
	Calls, Failures, Slow int
	// ConsecutiveFailures is the current run of failures in the Closed
	// state.
	ConsecutiveFailures int
	// Rejected is the number of calls rejected, counted from the first
	// Stats call on (see Succeeded).
	Rejected uint64
	// The counters below only grow, from New on (but see Succeeded), and
	// the Closed state's success path still takes no lock to count.
	// Succeeded, Failed and Ignored count the calls admitted that
	// succeeded, failed (a panic included) and were ignored (Ignore), in
	// any state, results that come back after a state change included:
	// with Rejected, they add up to every call made once successes are
	// counted. SlowCalls counts the calls that were slow (a slow call is
	// also one of the three). Opened, HalfOpened and Reclosed count the
	// transitions into Open, HalfOpen and Closed, Reset and ForceOpen
	// included.
	//
	// Succeeded and Rejected do not count from New: a breaker counts
	// successes and rejections from its first Stats call on (as a
	// limiter.Rate counts from its first Stats call), so that the Closed
	// state's success path and the Open state's rejection of a breaker no
	// one reads write nothing shared. Call Stats once at start-up to count
	// from there (weftotel's registration does). A breaker with a
	// Window(n) rate window counts them from New, since its window counts
	// successes anyway. A success counts if counting has begun when the
	// call finishes.
	Succeeded, Failed, Ignored   uint64
	SlowCalls                    uint64
	Opened, HalfOpened, Reclosed uint64
}

// Observation is one timed event of a Breaker, given to the functions
// attached with Observe: Event is "call", Duration is how long an admitted
// call ran and Err is what it returned (non-nil for a call that panicked).
// The same type serves every weft package that has timed events, so that
// one observer function can be attached to any of them.
type Observation = observe.Observation

// A Breaker is a circuit breaker: it lets calls through while they succeed
// (Closed), rejects them for a while once a trip condition is met (Open),
// then lets a few probes through (HalfOpen) and closes again if they
// succeed or reopens if one fails. A Breaker is safe for concurrent use.
// Create one with New: the zero value panics on first use. A Breaker needs
// no Close: the one timer it may hold (for the end of an Open period) runs
// nothing until it fires and is stopped when the breaker leaves Open.
type Breaker struct {
	// word holds the state (low 2 bits), fastBit, countBit, and a
	// generation above them that changes on every transition, so that a
	// result that comes back for an admission of an earlier generation is
	// recognised and dropped. It is 0 only in a Breaker not made by New.
	word        atomic.Uint64
	consecutive atomic.Int64              // run of failures; reset lock-free by successes
	openErr     atomic.Pointer[OpenError] // Open: the error for rejected calls
	// rejecting is openErr while the breaker is Open and its rejections are
	// not counted (countBit is clear), nil otherwise: Do rejects on it alone.
	// It is an *OpenError used with atomic.LoadPointer and StorePointer:
	// atomic.Pointer's Load would cost Do more inlining budget than it has.
	rejecting unsafe.Pointer
	openUntil atomic.Int64 // Open: nanoseconds since start when probes may begin
	rejected  *stripe.Counter
	hooks     observe.Hooks // Observe's functions; Active is one load of a nil pointer
	late      atomic.Uint64 // successes of an ended generation, once counting
	ignored   atomic.Uint64 // calls classified Ignore

	cfg   config
	start time.Time
	timed bool        // calls are timed: SlowCalls or TimeWindow
	win   rateWindow  // FailureRate or SlowCalls: the window; nil otherwise
	tw    *timeWindow // win, when it is a TimeWindow
	// count is win when it is a Window(n), held by value so that the
	// success path reaches its counter without a pointer. Its ok counter
	// counts the Closed state's lock-free successes while countBit is set
	// (from New with a Window(n), else from the first Stats call, which
	// gives it its stripes).
	count countWindow

	mu sync.Mutex
	// mu guards the fields below and the locked halves of the windows.
	openDur    time.Duration // the open time of the current or last Open
	forced     bool          // opened by ForceOpen
	admitted   int           // HalfOpen: probes admitted and not ignored
	succeeded  int           // HalfOpen: probes that succeeded
	slowProbes int           // HalfOpen: probes that were slow
	timer      *time.Timer   // Open, not forced: makes the breaker HalfOpen when the open time ends
	timerFake  bool          // timer was made in a synctest bubble

	// Cumulative counts for Stats.
	failed, slowCalls uint64
	okLocked          uint64    // successes counted under mu (probes, slow calls), once counting
	entered           [3]uint64 // transitions into each State

	// changes holds transitions for OnStateChange: pushed under mu, in
	// transition order, and delivered by deliver with no lock held.
	changes notify.Queue[transition]
}

type transition struct{ from, to State }

// The layout of Breaker.word.
const (
	stateMask = 3
	// fastBit is set when a Closed call needs no clock and no classifier:
	// then word&fastMask == fastBit means the lock-free path applies. It is
	// never set in a zero Breaker, which so takes the path that panics.
	fastBit  = 4
	fastMask = stateMask | fastBit
	// countBit is set when the Closed state's lock-free successes are
	// counted in count.ok: from New with a Window(n), else from the first
	// Stats call. It is set once and never cleared, and is no part of the
	// generation: sameGen ignores it.
	countBit = 8
	genUnit  = 16
)

// sameGen reports whether words v and w are of the same generation, which
// countBit does not change.
func sameGen(v, w uint64) bool { return (v^w)&^countBit == 0 }

// New returns a closed Breaker configured by opts. Without a trip condition
// (ConsecutiveFailures, FailureRate, SlowCalls) it trips after 5
// consecutive failures; it stays open for 60s (OpenFor) and then lets 1
// probe through (HalfOpenProbes). New panics if two options contradict
// each other (each option panics on its own invalid values).
func New(opts ...Option) *Breaker {
	b := &Breaker{cfg: newConfig(opts), start: time.Now(), rejected: stripe.NewCounter()}
	switch w := b.cfg.win; {
	case w.n > 0: // set only with a rate
		b.count = newCountWindow(w.n)
		b.win = &b.count
	case w.buckets > 0:
		b.tw = newTimeWindow(w.span, w.buckets)
		b.win = b.tw
	}
	b.timed = b.tw != nil || b.cfg.slowAfter > 0
	word := uint64(genUnit) // Closed, generation 1
	if !b.timed && b.cfg.classify == nil {
		word |= fastBit
	}
	if b.win == &b.count {
		word |= countBit
	}
	b.word.Store(word)
	b.openDur = b.cfg.openFor
	return b
}

// now returns the nanoseconds since b was created, from the monotonic clock.
func (b *Breaker) now() int64 { return int64(time.Since(b.start)) }

// token is one admitted call: the word it was admitted under and, for timed
// calls, when it started.
type token struct {
	word  uint64
	start int64
}

// Do calls fn with ctx if the breaker lets the call through, counts its
// outcome and returns its error. When the breaker rejects the call, Do
// returns an *OpenError (matching ErrOpen) without calling fn. If fn panics
// (or calls runtime.Goexit), the call counts as a failure and the panic
// continues in the caller's goroutine. Do panics if ctx or fn is nil,
// before counting anything, except that an Open breaker whose rejections
// are not counted yet (Stats has not been called) rejects the call first:
// its check, inlined in the caller, is one load and no more.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	// BreakerReject (3x with it, internal/compare): an open breaker
	// whose rejections are not counted yet rejects here, inlined in the
	// caller, with one load. TestClosedSuccessInlines guards the inlining.
	if e := atomic.LoadPointer(&b.rejecting); e != nil {
		return (*OpenError)(e)
	}
	return b.do(ctx, fn)
}

// do is Do past its inlined rejection.
func (b *Breaker) do(ctx context.Context, fn func(context.Context) error) (err error) {
	if ctx == nil || fn == nil {
		panicNil(ctx)
	}
	t := token{word: b.word.Load()}
	if t.word&fastMask != fastBit {
		if t, err = b.admitSlow(t.word); err != nil {
			return err
		}
	}
	if b.hooks.Active() {
		return b.doObserved(ctx, t, fn)
	}
	err = errPanicked // still there when the deferred call runs: fn did not return
	// The Closed state's common case (fastSuccess, written out) is inlined
	// in this deferred call, which then makes no further call.
	defer func() {
		if err == nil && t.word&fastMask == fastBit {
			if !b.closedSuccess(t.word) {
				b.lateSuccess(t.word)
			} else if t.word&countBit != 0 {
				b.count.success()
			}
		} else {
			b.done(t, err)
		}
	}()
	return fn(ctx)
}

// doObserved is Do for a call admitted with t while an observer is
// attached: it times the call and reports it.
func (b *Breaker) doObserved(ctx context.Context, t token, fn func(context.Context) error) (err error) {
	start := time.Now()
	err = errPanicked
	defer func() {
		b.hooks.Emit(Observation{Event: observe.Call, Duration: time.Since(start), Err: err})
		b.done(t, err)
	}()
	return fn(ctx)
}

// Get is Do for a function that returns a value: it returns fn's value and
// error, or the zero T and an *OpenError when b rejects the call. A panic
// in fn counts as a failure and continues, as in Do. Get panics if ctx or
// fn is nil, with the same exception as Do.
func Get[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	if e := atomic.LoadPointer(&b.rejecting); e != nil { // as in Do
		var zero T
		return zero, (*OpenError)(e)
	}
	return get(ctx, b, fn)
}

// get is Get past its inlined rejection.
func get[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (v T, err error) {
	if ctx == nil || fn == nil {
		panicNil(ctx)
	}
	t := token{word: b.word.Load()}
	if t.word&fastMask != fastBit {
		if t, err = b.admitSlow(t.word); err != nil {
			return v, err
		}
	}
	if b.hooks.Active() {
		return getObserved(ctx, b, t, fn)
	}
	err = errPanicked
	defer func() {
		if err == nil && t.word&fastMask == fastBit {
			if !b.closedSuccess(t.word) {
				b.lateSuccess(t.word)
			} else if t.word&countBit != 0 {
				b.count.success()
			}
		} else {
			b.done(t, err)
		}
	}()
	return fn(ctx)
}

// getObserved is Get for a call admitted with t while an observer is
// attached: it times the call and reports it.
func getObserved[T any](ctx context.Context, b *Breaker, t token, fn func(context.Context) (T, error)) (v T, err error) {
	start := time.Now()
	err = errPanicked
	defer func() {
		b.hooks.Emit(Observation{Event: observe.Call, Duration: time.Since(start), Err: err})
		b.done(t, err)
	}()
	return fn(ctx)
}

// panicNil panics for a nil ctx, or else for a nil function.
func panicNil(ctx context.Context) {
	if ctx == nil {
		panic("breaker: nil context")
	}
	panic("breaker: nil function")
}

// errPanicked marks, in Do and Get, a call that has not returned: seen by
// their deferred call, it means fn panicked or called runtime.Goexit.
var errPanicked = errors.New("breaker: call did not return")

// done counts the outcome of a call run by Do or Get: err is its error, or
// errPanicked if fn did not return.
func (b *Breaker) done(t token, err error) {
	if err == errPanicked {
		b.recordOutcome(t, Failure)
		return
	}
	b.record(t, err)
}

// Allow is the two-step form of Do, for middleware that cannot wrap the call
// in a function: if the breaker lets a call through, Allow returns a done
// function to call with the call's error once it has finished; otherwise it
// returns an *OpenError (matching ErrOpen) and a nil done. Calling done more
// than once is harmless: only the first call counts. done must be called for
// every admitted call (defer it, so a panic counts too): a half-open probe
// whose done is never called holds its probe slot until Reset or ForceOpen.
func (b *Breaker) Allow() (done func(error), err error) {
	t, err := b.admit()
	if err != nil {
		return nil, err
	}
	var once atomic.Bool
	if b.hooks.Active() {
		start := time.Now()
		return func(err error) {
			if once.CompareAndSwap(false, true) {
				b.hooks.Emit(Observation{Event: observe.Call, Duration: time.Since(start), Err: err})
				b.record(t, err)
			}
		}, nil
	}
	return func(err error) {
		if once.CompareAndSwap(false, true) {
			b.record(t, err)
		}
	}, nil
}

// Observe attaches fn, which is then called with the duration and error of
// every call the breaker admits once it has finished (Event "call"; a call
// that panicked has a non-nil Err), and returns the function that detaches
// it, which is idempotent. For Allow the call runs from Allow's return to
// the first call of done, whose argument is Err. Rejected calls are not
// observed. fn runs in the caller's goroutine, before Do or Get returns,
// and must be safe for concurrent use and quick. With no function attached
// a call pays one atomic load for this hook; while one is attached, every
// call reads the clock twice and takes the breaker's general path instead
// of the Closed state's inlined one. Observe panics if fn is nil.
func (b *Breaker) Observe(fn func(Observation)) (remove func()) {
	return b.hooks.Add("breaker", fn)
}

// classify returns the outcome of a call that returned err.
func (b *Breaker) classify(err error) Outcome {
	if b.cfg.classify != nil {
		return b.cfg.classify(err)
	}
	switch {
	case err == nil:
		return Success
	case errors.Is(err, context.Canceled):
		return Ignore
	}
	return Failure
}

// admit lets a call through or rejects it.
func (b *Breaker) admit() (token, error) {
	w := b.word.Load()
	if w&fastMask != fastBit {
		return b.admitSlow(w)
	}
	return token{word: w}, nil
}

// admitSlow admits or rejects a call that cannot take the fast path; w is
// the word the caller loaded. An Open breaker rejects with no lock and no
// clock: the timer armed when it opened makes it HalfOpen on time.
func (b *Breaker) admitSlow(w uint64) (token, error) {
	switch State(w & stateMask) {
	case Open:
		if w&countBit != 0 {
			b.rejected.Add(1)
		}
		return token{}, b.openErr.Load()
	case Closed:
		if w == 0 {
			panic("breaker: Breaker used without New")
		}
		t := token{word: w}
		if b.cfg.slowAfter > 0 {
			t.start = b.now()
		}
		return t, nil
	}
	b.mu.Lock()
	w = b.word.Load()
	var err error
	switch State(w & stateMask) {
	case Open:
		err = b.openErr.Load()
	case HalfOpen:
		if b.admitted < b.cfg.probes {
			b.admitted++
		} else {
			err = errHalfOpenFull
		}
	}
	b.mu.Unlock()
	if err != nil {
		if w&countBit != 0 {
			b.rejected.Add(1)
		}
		return token{}, err
	}
	t := token{word: w}
	if b.timed {
		t.start = b.now()
	}
	return t, nil
}

// record counts the outcome of a call admitted with t that returned err.
func (b *Breaker) record(t token, err error) {
	if err == nil && t.word&fastMask == fastBit {
		b.fastSuccess(t.word)
		return
	}
	b.recordOutcome(t, b.classify(err))
}

// fastSuccess counts a success of the Closed state admitted under word w,
// lock-free: in the window and in Stats.Succeeded if countBit is set, or,
// if w's generation has ended, in Stats.Succeeded alone. Do and Get write
// it out in their deferred calls, where closedSuccess and the count
// window's add are inlined (compare rows BreakerDo/consecutive and window;
// guarded by TestClosedSuccessInlines); it is too big to inline itself.
func (b *Breaker) fastSuccess(w uint64) {
	if !b.closedSuccess(w) {
		b.lateSuccess(w)
	} else if w&countBit != 0 {
		b.count.success()
	}
}

// closedSuccess resets the run of failures for a success of the Closed
// state admitted under word w, lock-free, and reports true, unless the
// word has changed since (the generation has ended, or countBit has been
// set): then it does nothing and reports false.
func (b *Breaker) closedSuccess(w uint64) bool {
	if b.word.Load() != w {
		return false
	}
	if b.consecutive.Load() != 0 {
		b.consecutive.Store(0)
	}
	return true
}

// lateSuccess counts a success of the Closed state admitted under word w
// that closedSuccess turned away. If only countBit has been set since,
// the success is of the current generation and counts as one; otherwise it
// is a late result of an earlier generation, counted in Stats.Succeeded
// only (if counting). The word never returns to an earlier value, so
// closedSuccess is tried at most once more.
func (b *Breaker) lateSuccess(w uint64) {
	v := b.word.Load()
	if v&countBit == 0 {
		return // not counting
	}
	if w|countBit == v && b.closedSuccess(v) {
		b.count.success()
		return
	}
	b.late.Add(1)
}

// recordOutcome counts outcome o of a call admitted with t.
func (b *Breaker) recordOutcome(t token, o Outcome) {
	state := State(t.word & stateMask)
	if o == Ignore {
		b.ignored.Add(1)
		if state == Closed {
			return
		}
	}
	var now int64
	if b.timed {
		now = b.now()
	}
	slow := b.cfg.slowAfter > 0 && o != Ignore && time.Duration(now-t.start) > b.cfg.slowAfter
	if state == Closed && o == Success && !slow {
		if b.tw != nil && sameGen(b.word.Load(), t.word) {
			b.tw.success(now)
		}
		b.fastSuccess(t.word)
		return
	}
	if !b.timed {
		now = b.now() // for the open time, should this trip the breaker
	}
	b.mu.Lock()
	switch {
	case o == Failure:
		b.failed++
	case o == Success && b.word.Load()&countBit != 0:
		b.okLocked++
	}
	if slow {
		b.slowCalls++
	}
	changed := false
	if sameGen(b.word.Load(), t.word) {
		switch state {
		case Closed:
			changed = b.closedLocked(now, o == Failure, slow)
		case HalfOpen:
			changed = b.probeLocked(now, o, slow)
		}
	}
	b.mu.Unlock()
	if changed {
		b.deliver()
	}
}

// closedLocked counts a failed or slow call in the Closed state and trips
// the breaker if a condition is met. b.mu must be held.
func (b *Breaker) closedLocked(now int64, failed, slow bool) bool {
	var run int64
	if failed {
		run = b.consecutive.Add(1)
	} else if b.consecutive.Load() != 0 {
		b.consecutive.Store(0)
	}
	trip := b.cfg.consecutive > 0 && run >= int64(b.cfg.consecutive)
	if b.win != nil {
		b.win.record(now, failed, slow)
		calls, fails, slows := b.win.counts(now)
		c := float64(calls)
		trip = trip ||
			b.cfg.failRate > 0 && calls >= b.cfg.failMin && float64(fails) >= b.cfg.failRate*c ||
			b.cfg.slowRate > 0 && calls >= b.cfg.slowMin && float64(slows) >= b.cfg.slowRate*c
	}
	if trip {
		b.setLocked(Open, now)
	}
	return trip
}

// probeLocked counts the outcome of a half-open probe. b.mu must be held.
func (b *Breaker) probeLocked(now int64, o Outcome, slow bool) bool {
	switch o {
	case Ignore:
		b.admitted--
		return false
	case Failure:
		b.reopenLocked(now)
		return true
	}
	b.succeeded++
	if slow {
		b.slowProbes++
	}
	if b.succeeded < b.cfg.probes {
		return false
	}
	if b.cfg.slowRate > 0 && float64(b.slowProbes) >= b.cfg.slowRate*float64(b.succeeded) {
		b.reopenLocked(now)
	} else {
		b.setLocked(Closed, now)
	}
	return true
}

func (b *Breaker) reopenLocked(now int64) {
	if b.cfg.openMax > 0 {
		if b.openDur > b.cfg.openMax/2 { // doubling would pass max (or overflow)
			b.openDur = b.cfg.openMax
		} else {
			b.openDur *= 2
		}
	}
	b.setLocked(Open, now)
}

// openEnded is run by the timer armed when the breaker opened in
// generation w: it makes the breaker HalfOpen, unless it has changed state
// since.
func (b *Breaker) openEnded(w uint64) {
	b.mu.Lock()
	changed := sameGen(b.word.Load(), w)
	if changed {
		b.timer = nil
		b.setLocked(HalfOpen, b.now())
	}
	b.mu.Unlock()
	if changed {
		b.deliver()
	}
}

// setLocked moves the breaker to state to, starting a new generation, and
// queues the transition for OnStateChange. b.mu must be held.
func (b *Breaker) setLocked(to State, now int64) {
	b.stopTimerLocked()
	w := b.word.Load()
	from := State(w & stateMask)
	switch to {
	case Closed:
		b.consecutive.Store(0)
		if b.win != nil {
			b.win.reset(now)
		}
		b.forced = false
		b.openDur = b.cfg.openFor // closing ends the OpenBackoff
	case Open:
		until := now + int64(b.openDur)
		e := &OpenError{state: Open, probe: b.start.Add(time.Duration(until)), b: b}
		if b.forced || until < now {
			until = math.MaxInt64
			e = &OpenError{state: Open, hold: b.cfg.openFor, b: b}
		}
		b.openErr.Store(e)
		b.openUntil.Store(until)
	}
	b.admitted, b.succeeded, b.slowProbes = 0, 0, 0
	atomic.StorePointer(&b.rejecting, nil)
	w = (w+genUnit)&^stateMask | uint64(to)
	b.word.Store(w)
	if to == Open && w&countBit == 0 {
		atomic.StorePointer(&b.rejecting, unsafe.Pointer(b.openErr.Load()))
	}
	if to == Open && !b.forced && b.openUntil.Load() != math.MaxInt64 {
		// One nanosecond early: a goroutine that sleeps OpenFor after the
		// breaker opened wakes at the same instant as a timer set for
		// OpenFor (exactly so in a synctest bubble), and must find the
		// breaker HalfOpen. TestSleepOpenForThenProbe guards it.
		b.timer = time.AfterFunc(b.openDur-time.Nanosecond, func() { b.openEnded(w) })
		b.timerFake = inBubble()
	}
	if from != to {
		b.entered[to]++
		if b.cfg.onChange != nil {
			b.changes.Push(transition{from, to})
		}
	}
}

// stopTimerLocked stops the timer of an Open period, if there is one. A
// timer made inside a synctest bubble cannot be stopped from outside one:
// it is then left to fire, which does nothing once the generation it was
// armed for has ended. b.mu must be held.
func (b *Breaker) stopTimerLocked() {
	if b.timer != nil && (!b.timerFake || inBubble()) {
		b.timer.Stop()
	}
	b.timer = nil
}

// inBubble reports whether the calling goroutine is in a synctest bubble,
// where time.Now carries no monotonic clock reading.
func inBubble() bool {
	now := time.Now()
	return now == now.Round(0)
}

// deliver calls OnStateChange for the pending transitions, in order, unless
// another goroutine is already doing so (it will deliver them).
func (b *Breaker) deliver() {
	b.changes.Deliver(func(tr transition) { b.cfg.onChange(tr.from, tr.to) })
}

// State returns the breaker's current state. An Open breaker becomes
// HalfOpen when its open time ends, from a timer; State makes the change
// itself if it looks at the breaker first (inside a synctest bubble, a
// goroutine that wakes at that instant may run before the timer does).
func (b *Breaker) State() State {
	w := b.word.Load()
	if w == 0 {
		panic("breaker: Breaker used without New")
	}
	if State(w&stateMask) == Open && b.now() >= b.openUntil.Load() {
		b.mu.Lock()
		changed := sameGen(b.word.Load(), w)
		if changed {
			b.setLocked(HalfOpen, b.now())
		}
		w = b.word.Load()
		b.mu.Unlock()
		if changed {
			b.deliver()
		}
	}
	return State(w & stateMask)
}

// Stats returns a snapshot of the breaker's state and counts. The first
// call starts the count of the Closed state's lock-free successes (see
// Stats.Succeeded).
func (b *Breaker) Stats() Stats {
	b.State() // makes an Open breaker whose time has come HalfOpen
	b.mu.Lock()
	if w := b.word.Load(); w&countBit == 0 {
		b.count.ok = *stripe.NewCounter()      // no window: the stripes are for Succeeded alone
		b.word.Store(w | countBit)             // word changes only under mu
		atomic.StorePointer(&b.rejecting, nil) // rejections are counted from now on
	}
	s := Stats{
		State:               State(b.word.Load() & stateMask),
		ConsecutiveFailures: int(b.consecutive.Load()),
	}
	switch {
	case s.State == HalfOpen:
		s.Calls, s.Slow = b.succeeded, b.slowProbes
	case b.win != nil:
		s.Calls, s.Failures, s.Slow = b.win.counts(b.now())
	}
	s.Failed, s.SlowCalls = b.failed, b.slowCalls
	s.Opened, s.HalfOpened, s.Reclosed = b.entered[Open], b.entered[HalfOpen], b.entered[Closed]
	s.Succeeded = b.okLocked
	b.mu.Unlock()
	s.Succeeded += uint64(b.count.ok.Load()) + b.late.Load()
	s.Ignored = b.ignored.Load()
	s.Rejected = uint64(b.rejected.Load())
	return s
}

// Reset closes the breaker with an empty window, whatever its state,
// undoing ForceOpen and the open-time backoff. Calls admitted before Reset
// are not counted when they finish.
func (b *Breaker) Reset() {
	b.mu.Lock()
	if b.word.Load() == 0 {
		b.mu.Unlock()
		panic("breaker: Breaker used without New")
	}
	b.setLocked(Closed, b.now())
	b.mu.Unlock()
	b.deliver()
}

// ForceOpen opens the breaker and holds it open, rejecting every call,
// until Reset is called.
func (b *Breaker) ForceOpen() {
	b.mu.Lock()
	if b.word.Load() == 0 {
		b.mu.Unlock()
		panic("breaker: Breaker used without New")
	}
	b.forced = true
	b.setLocked(Open, b.now())
	b.mu.Unlock()
	b.deliver()
}
