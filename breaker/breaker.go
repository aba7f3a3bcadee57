package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/notify"
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

// ErrOpen is matched (with errors.Is) by every error a Breaker returns when
// it rejects a call. The error itself is an *OpenError.
var ErrOpen = errors.New("breaker: open")

// OpenError is the error returned for a rejected call. One OpenError is
// shared by every call a breaker rejects in one Open period, so rejecting
// allocates nothing; treat it as read-only.
type OpenError struct {
	// State is the state that rejected the call: Open, or HalfOpen when
	// every probe slot was taken.
	State State
	probe time.Time     // when the breaker lets probes through; zero: see Wait
	hold  time.Duration // Wait of a breaker held open by ForceOpen
}

// Wait returns how long from now until the breaker lets a probe through
// (zero once that time has come). It is zero when the breaker is half-open
// (a slot frees as soon as a probe finishes), and the OpenFor duration when
// the breaker is held open by ForceOpen, which has no end until Reset.
func (e *OpenError) Wait() time.Duration {
	if e.probe.IsZero() {
		return e.hold
	}
	return max(0, time.Until(e.probe))
}

// Error describes the rejection, with the time until the next probe
// rounded up to the millisecond.
func (e *OpenError) Error() string {
	switch {
	case e.State == HalfOpen:
		return "breaker: open (half-open, every probe slot taken)"
	case e.probe.IsZero():
		return "breaker: open (held open until Reset)"
	}
	return fmt.Sprintf("breaker: open (next probe in %v)", (e.Wait() + time.Millisecond - 1).Truncate(time.Millisecond))
}

// errHalfOpenFull is the rejection of a half-open breaker: it has no fields
// that vary, so one value serves every call.
var errHalfOpenFull = &OpenError{State: HalfOpen}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

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
	// Rejected is the number of calls rejected since New.
	Rejected uint64
}

// A Breaker is a circuit breaker: it lets calls through while they succeed
// (Closed), rejects them for a while once a trip condition is met (Open),
// then lets a few probes through (HalfOpen) and closes again if they
// succeed or reopens if one fails. A Breaker is safe for concurrent use;
// create one with New (the zero value is not usable).
//
// In the Closed state a call takes no lock and allocates nothing: it reads
// the state, runs, and (unless it failed or was slow) counts itself with one
// atomic add on one of several cache lines, chosen by its goroutine's stack
// so that goroutines running at once rarely share one. Failures, slow calls
// and transitions take a lock.
type Breaker struct {
	// word holds the State in its low 2 bits and the generation above: it
	// changes on every transition, so a result that comes back for an
	// admission of an earlier generation is recognised and dropped.
	word        atomic.Uint64
	consecutive atomic.Int64              // run of failures; reset lock-free by successes
	openUntil   atomic.Int64              // Open: nanoseconds since start when probes may begin
	openErr     atomic.Pointer[OpenError] // Open: the error for rejected calls
	offset      atomic.Int64              // TimeWindow: virtual clock offset of this generation

	cfg   config
	timed bool // calls are timed: SlowCalls or TimeWindow
	// fastMask is stateMask when a Closed call needs no clock and nil needs
	// no classifier: then word&fastMask == 0 means the lock-free fast path
	// applies. Otherwise it is all ones (word is never 0).
	fastMask uint64
	start    time.Time
	stripes  []cell
	mask     uint32

	mu sync.Mutex
	// mu guards the fields below, except the parts of tw that New sets and
	// never changes (bucket, stride, slot and the slice of atomic words) and
	// tw.hint, an atomic cache of the current epoch.
	cw         countWindow
	tw         timeWindow
	openDur    time.Duration // the open time of the current or last Open
	forced     bool          // opened by ForceOpen
	admitted   int           // HalfOpen: probes admitted and not ignored
	succeeded  int           // HalfOpen: probes that succeeded
	slowProbes int           // HalfOpen: probes that were slow

	// changes holds transitions for OnStateChange: pushed under mu, in
	// transition order, and delivered by deliver with no lock held.
	changes notify.Queue[transition]
}

type transition struct{ from, to State }

const stateMask = 3

// New returns a closed Breaker configured by opts. Without a trip condition
// (ConsecutiveFailures, FailureRate, SlowCalls) it trips after 5
// consecutive failures; it stays open for 60s (OpenFor) and then lets 1
// probe through (HalfOpenProbes). New panics if an option is invalid.
func New(opts ...Option) *Breaker {
	b := &Breaker{cfg: newConfig(opts), start: time.Now()}
	n := stripe.Count()
	b.stripes, b.mask = make([]cell, n), uint32(n-1)
	w := b.cfg.win
	switch {
	case w.n > 0: // set only with a rate
		b.cw.fails, b.cw.slows = newBitRing(w.n), newBitRing(w.n)
	case w.buckets > 0:
		// A stripe's slots are a power of two, so that an epoch's slot is
		// the epoch masked, not divided, and fill whole 128-byte lines. The
		// window's buckets, consecutive epochs, still get different slots.
		slots := 1 << bits.Len(uint(w.buckets-1))
		stride := max(slots, 16)
		b.tw = timeWindow{
			bucket: int64(w.span / time.Duration(w.buckets)),
			words:  make([]atomic.Uint64, n*stride),
			stride: stride,
			slot:   uint64(slots - 1),
			locked: make([]lockedBucket, w.buckets),
		}
		b.timed = true
	}
	if b.cfg.slowAfter > 0 {
		b.timed = true
	}
	b.fastMask = stateMask
	if b.timed || b.cfg.classify != nil {
		b.fastMask = math.MaxUint64
	}
	b.word.Store(stateMask + 1) // Closed, generation 1
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
// continues in the caller's goroutine.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) (err error) {
	t := token{word: b.word.Load()}
	if t.word&b.fastMask != 0 {
		if t, err = b.admitSlow(); err != nil {
			return err
		}
	}
	err = errPanicked // still there when the deferred call runs: fn did not return
	// The Closed state's common case is inlined in this deferred call,
	// which then makes no further call.
	defer func() {
		if err == nil && t.word&b.fastMask == 0 {
			b.closedSuccess(t.word)
		} else {
			b.done(t, err)
		}
	}()
	return fn(ctx)
}

// Get is Do for a function that returns a value: it returns fn's value and
// error, or the zero T and an *OpenError when b rejects the call. A panic
// in fn counts as a failure and continues, as in Do.
func Get[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (v T, err error) {
	t := token{word: b.word.Load()}
	if t.word&b.fastMask != 0 {
		if t, err = b.admitSlow(); err != nil {
			return v, err
		}
	}
	err = errPanicked
	defer func() {
		if err == nil && t.word&b.fastMask == 0 {
			b.closedSuccess(t.word)
		} else {
			b.done(t, err)
		}
	}()
	return fn(ctx)
}

// errPanicked marks, in Do and Get, a call that has not returned: seen by
// their deferred call, it means fn panicked or called runtime.Goexit.
var errPanicked = errors.New("breaker: call did not return")

// done counts the outcome of a call run by Do or Get, other than a fast
// Closed success: err is its error, or errPanicked if fn did not return.
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
	return func(err error) {
		if once.CompareAndSwap(false, true) {
			b.record(t, err)
		}
	}, nil
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
	if w := b.word.Load(); w&b.fastMask == 0 {
		return token{word: w}, nil
	}
	return b.admitSlow()
}

func (b *Breaker) admitSlow() (token, error) {
	w := b.word.Load()
	if State(w&stateMask) == Closed {
		t := token{word: w}
		if b.cfg.slowAfter > 0 {
			t.start = b.now()
		}
		return t, nil
	}
	now := b.now()
	if State(w&stateMask) == Open {
		if until := b.openUntil.Load(); now < until {
			return token{}, b.reject(b.openErr.Load())
		}
	}
	b.mu.Lock()
	changed := b.probeTimeLocked(now)
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
	if changed {
		b.deliver()
	}
	if err != nil {
		return token{}, b.reject(err)
	}
	return token{word: w, start: now}, nil
}

func (b *Breaker) reject(err error) error {
	b.pick().rejected.Add(1)
	return err
}

// record counts the outcome of a call admitted with t that returned err.
func (b *Breaker) record(t token, err error) {
	if err == nil && t.word&b.fastMask == 0 {
		b.closedSuccess(t.word)
		return
	}
	b.recordOutcome(t, b.classify(err))
}

// closedSuccess counts a fast success of the Closed generation w, lock-free,
// or drops it if the generation has ended. It is small enough to inline.
func (b *Breaker) closedSuccess(w uint64) {
	if b.word.Load() != w {
		return // a late result of an earlier generation
	}
	if b.consecutive.Load() != 0 {
		b.consecutive.Store(0)
	}
	if b.cfg.win.n > 0 {
		b.stripes[stripe.Index(b.mask)].calls.Add(1) // not pick: keeps this inlinable
	}
}

// recordOutcome counts outcome o of a call admitted with t.
func (b *Breaker) recordOutcome(t token, o Outcome) {
	if o == Ignore && State(t.word&stateMask) == Closed {
		return
	}
	var now int64
	if b.timed || State(t.word&stateMask) == HalfOpen {
		now = b.now()
	}
	slow := b.cfg.slowAfter > 0 && o != Ignore && time.Duration(now-t.start) > b.cfg.slowAfter
	if State(t.word&stateMask) == Closed && o == Success && !slow {
		if b.tw.bucket > 0 && b.word.Load() == t.word {
			e := b.epoch(now)
			bucketAdd(&b.tw.words[b.pickIndex()*b.tw.stride+int(e&b.tw.slot)], e)
		}
		b.closedSuccess(t.word)
		return
	}
	if now == 0 {
		now = b.now() // for the open time, should this trip the breaker
	}
	b.mu.Lock()
	changed := false
	if b.word.Load() == t.word {
		switch State(t.word & stateMask) {
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
	if b.cfg.failRate > 0 || b.cfg.slowRate > 0 {
		b.recordLocked(now, failed, slow)
		calls, fails, slows := b.counts(now)
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

// probeTimeLocked moves an Open breaker whose open time has passed to
// HalfOpen, and reports whether it did. b.mu must be held.
func (b *Breaker) probeTimeLocked(now int64) bool {
	if State(b.word.Load()&stateMask) != Open || b.forced || now < b.openUntil.Load() {
		return false
	}
	b.setLocked(HalfOpen, now)
	return true
}

// setLocked moves the breaker to state to, starting a new generation, and
// queues the transition for OnStateChange. b.mu must be held.
func (b *Breaker) setLocked(to State, now int64) {
	w := b.word.Load()
	from := State(w & stateMask)
	switch to {
	case Closed:
		b.consecutive.Store(0)
		b.resetWindow(now)
		b.forced = false
		b.openDur = b.cfg.openFor // closing ends the OpenBackoff
	case Open:
		until := now + int64(b.openDur)
		e := &OpenError{State: Open, probe: b.start.Add(time.Duration(until))}
		if b.forced || until < now {
			until = math.MaxInt64
			e = &OpenError{State: Open, hold: b.cfg.openFor}
		}
		b.openErr.Store(e)
		b.openUntil.Store(until)
	}
	b.admitted, b.succeeded, b.slowProbes = 0, 0, 0
	b.word.Store((w+stateMask+1)&^stateMask | uint64(to))
	if from != to && b.cfg.onChange != nil {
		b.changes.Push(transition{from, to})
	}
}

// deliver calls OnStateChange for the pending transitions, in order, unless
// another goroutine is already doing so (it will deliver them).
func (b *Breaker) deliver() {
	b.changes.Deliver(func(tr transition) { b.cfg.onChange(tr.from, tr.to) })
}

// State returns the breaker's current state. An Open breaker whose open
// time has passed becomes HalfOpen when State (or a call) looks at it.
func (b *Breaker) State() State {
	w := b.word.Load()
	if State(w&stateMask) == Open && b.now() >= b.openUntil.Load() {
		b.mu.Lock()
		changed := b.probeTimeLocked(b.now())
		w = b.word.Load()
		b.mu.Unlock()
		if changed {
			b.deliver()
		}
	}
	return State(w & stateMask)
}

// Stats returns a snapshot of the breaker's state and counts.
func (b *Breaker) Stats() Stats {
	now := b.now()
	b.mu.Lock()
	changed := b.probeTimeLocked(now)
	s := Stats{
		State:               State(b.word.Load() & stateMask),
		ConsecutiveFailures: int(b.consecutive.Load()),
	}
	switch {
	case s.State == HalfOpen:
		s.Calls, s.Slow = b.succeeded, b.slowProbes
	case b.cfg.failRate > 0 || b.cfg.slowRate > 0:
		s.Calls, s.Failures, s.Slow = b.counts(now)
	}
	b.mu.Unlock()
	for i := range b.stripes {
		s.Rejected += b.stripes[i].rejected.Load()
	}
	if changed {
		b.deliver()
	}
	return s
}

// Reset closes the breaker with an empty window, whatever its state,
// undoing ForceOpen and the open-time backoff. Calls admitted before Reset
// are not counted when they finish.
func (b *Breaker) Reset() {
	b.mu.Lock()
	b.setLocked(Closed, b.now())
	b.mu.Unlock()
	b.deliver()
}

// ForceOpen opens the breaker and holds it open, rejecting every call,
// until Reset is called.
func (b *Breaker) ForceOpen() {
	b.mu.Lock()
	b.forced = true
	b.setLocked(Open, b.now())
	b.mu.Unlock()
	b.deliver()
}
