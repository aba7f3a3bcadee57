package breaker

import (
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/stripe"
)

// A rate window counts the calls, failures and slow calls a FailureRate or
// SlowCalls condition is judged on. Each kind has two halves: successes of
// the Closed state's common case are counted lock-free (success), so that
// parallel callers mostly write different cache lines; failures, slow calls
// and every call seen by the locked path are recorded under Breaker.mu
// (record), which is also where the rate is judged (counts). reset empties
// the window when the breaker closes.
type rateWindow interface {
	// record counts one call at now (nanoseconds since the breaker's
	// start). Breaker.mu must be held.
	record(now int64, failed, slow bool)
	// counts returns the calls, failures and slow calls in the window at
	// now. Breaker.mu must be held.
	counts(now int64) (calls, fails, slows int)
	// reset empties the window, starting at now. Breaker.mu must be held.
	reset(now int64)
}

// countWindow is the window of Window(n): the last n calls of the current
// Closed generation. Positions number those calls from 1: a call's position
// is the number of calls counted so far, itself included. Fast successes
// are only counted (in ok); the rings remember which positions failed or
// were slow, and are moved up to the current position before they are read,
// clearing the positions of the successes counted since.
type countWindow struct {
	ok stripe.Counter // fast successes, ever; lock-free; nil cells: no count window
	// Breaker.mu guards the fields below.
	base   int64  // ok's value when the generation began
	locked uint64 // calls recorded under the lock in this generation
	last   uint64 // the position the rings were last moved to
	fails  bitRing
	slows  bitRing
}

func newCountWindow(n int) countWindow {
	return countWindow{ok: *stripe.NewCounter(), fails: newBitRing(n), slows: newBitRing(n)}
}

// success counts a success of the Closed state without the lock.
func (w *countWindow) success() { w.ok.Add(1) }

// position returns the current call count of the generation.
func (w *countWindow) position() uint64 {
	return uint64(w.ok.Load()-w.base) + w.locked
}

// advance moves the rings up to the current position.
func (w *countWindow) advance() {
	if p := w.position(); p > w.last {
		w.fails.clearRange(w.last, p)
		w.slows.clearRange(w.last, p)
		w.last = p
	}
}

func (w *countWindow) record(_ int64, failed, slow bool) {
	w.locked++
	w.advance()
	if failed {
		w.fails.set(w.last)
	}
	if slow {
		w.slows.set(w.last)
	}
}

func (w *countWindow) counts(int64) (calls, fails, slows int) {
	w.advance()
	return int(min(w.last, w.fails.n)), w.fails.ones, w.slows.ones
}

func (w *countWindow) reset(int64) {
	w.base, w.locked, w.last = w.ok.Load(), 0, 0
	w.fails.reset()
	w.slows.reset()
}

// bitRing holds one bit per position of the last n positions: bit p%n is set
// when the call at position p was a failure (or slow).
type bitRing struct {
	bits []uint64
	n    uint64
	ones int // set bits
}

func newBitRing(n int) bitRing {
	return bitRing{bits: make([]uint64, (n+63)/64), n: uint64(n)}
}

// clearRange clears positions from+1 through to.
func (r *bitRing) clearRange(from, to uint64) {
	if to-from >= r.n {
		r.reset()
		return
	}
	for p := from + 1; p <= to; p++ {
		i := p % r.n
		if m := uint64(1) << (i % 64); r.bits[i/64]&m != 0 {
			r.bits[i/64] &^= m
			r.ones--
		}
	}
}

// set sets position p, which must have been cleared.
func (r *bitRing) set(p uint64) {
	i := p % r.n
	r.bits[i/64] |= 1 << (i % 64)
	r.ones++
}

func (r *bitRing) reset() {
	clear(r.bits)
	r.ones = 0
}

// timeWindow is the window of TimeWindow(d, buckets): the calls of the
// current bucket and the buckets-1 before it. Buckets are numbered by
// epochs on a virtual clock, now+offset; reset moves offset forward so that
// the new generation's epochs start past every epoch already written, and
// old counts then fall out of the window by themselves.
//
// Fast successes go to per-stripe words, each packing a bucket's epoch
// above a count; a stripe has a power of two of slots, no fewer than the
// buckets, so consecutive epochs get different slots. The rest is recorded
// in locked, one entry per bucket.
type timeWindow struct {
	buckets int
	bucket  int64 // nanoseconds per bucket
	offset  atomic.Int64
	words   []atomic.Uint64 // stripe s, epoch e at s*stride + e&slot
	stride  int
	slot    uint64         // slots per stripe, less one
	mask    uint32         // stripes, less one
	locked  []lockedBucket // guarded by Breaker.mu
}

// lockedBucket counts what the locked path saw in one bucket.
type lockedBucket struct {
	epoch               uint64
	calls, fails, slows int
}

func newTimeWindow(span time.Duration, buckets int) *timeWindow {
	// Slots are a power of two so that an epoch's slot is the epoch
	// masked; at least 16 of 8 bytes fill a 128-byte stripe.
	slots := 1 << bits.Len(uint(buckets-1))
	stride := max(slots, 16)
	n := stripe.Count()
	return &timeWindow{
		buckets: buckets,
		bucket:  int64(span / time.Duration(buckets)),
		words:   make([]atomic.Uint64, n*stride),
		stride:  stride,
		slot:    uint64(slots - 1),
		mask:    uint32(n - 1),
		locked:  make([]lockedBucket, buckets),
	}
}

// epoch returns the virtual epoch at now.
func (w *timeWindow) epoch(now int64) uint64 {
	return uint64((now + w.offset.Load()) / w.bucket)
}

// success counts a success of the Closed state at now without the lock.
func (w *timeWindow) success(now int64) {
	e := w.epoch(now)
	bucketAdd(&w.words[stripe.Index(w.mask)*w.stride+int(e&w.slot)], e)
}

func (w *timeWindow) record(now int64, failed, slow bool) {
	e := w.epoch(now)
	lb := &w.locked[e%uint64(len(w.locked))]
	if lb.epoch != e&epochMask {
		if later(lb.epoch, e) {
			return // the call is a window older than the slot: drop it
		}
		*lb = lockedBucket{epoch: e & epochMask}
	}
	lb.calls++
	if failed {
		lb.fails++
	}
	if slow {
		lb.slows++
	}
}

func (w *timeWindow) counts(now int64) (calls, fails, slows int) {
	e := w.epoch(now)
	for i := range w.words {
		if v := w.words[i].Load(); inWindow(v>>epochShift, e, w.buckets) {
			calls += int(v & countMask)
		}
	}
	for _, lb := range w.locked {
		if inWindow(lb.epoch, e, w.buckets) {
			calls += lb.calls
			fails += lb.fails
			slows += lb.slows
		}
	}
	return calls, fails, slows
}

func (w *timeWindow) reset(now int64) {
	// Jump the virtual clock so that now starts a bucket whose epoch is
	// more than a window past every epoch written so far.
	next := w.epoch(now) + uint64(w.buckets) + 1
	w.offset.Store(int64(next)*w.bucket - now)
	clear(w.locked)
}

// Time-window stripe words pack a bucket's epoch (36 bits, enough for two
// years of 1ms buckets before a stale word could pass for a current one)
// above a saturating count (28 bits).
const (
	countBits  = 28
	countMask  = 1<<countBits - 1
	epochMask  = 1<<36 - 1
	epochShift = countBits
)

// bucketAdd counts one call in word v for epoch e.
func bucketAdd(v *atomic.Uint64, e uint64) {
	tag := (e & epochMask) << epochShift
	for {
		old := v.Load()
		var nv uint64
		switch {
		case old&^countMask != tag:
			if later(old>>epochShift, e) {
				return // the call is a window older than the slot: drop it
			}
			nv = tag | 1
		case old&countMask == countMask:
			return // saturated
		default:
			nv = old + 1
		}
		if v.CompareAndSwap(old, nv) {
			return
		}
	}
}

// inWindow reports whether a word or bucket of epoch we is one of the n
// buckets ending at epoch e.
func inWindow(we, e uint64, n int) bool {
	return (e-we)&epochMask < uint64(n)
}

// later reports whether epoch we (masked) is after epoch e.
func later(we, e uint64) bool {
	d := (we - e) & epochMask
	return d != 0 && d < epochMask/2
}
