package breaker

import (
	"sync/atomic"

	"github.com/weftgo/weft/internal/stripe"
)

// The rate window is split in two so that the Closed state's common case
// takes no lock and shares no written cache line:
//
//   - Fast successes are counted lock-free in stripes, one cache line each,
//     picked by the caller's stack address (internal/stripe), so that
//     parallel callers mostly write different lines, and a goroutine keeps
//     writing the same one. For a Window(n) a stripe holds a running count
//     of calls; for a TimeWindow it holds one packed (epoch, count) word per
//     slot, a power of two of slots no fewer than the buckets.
//   - Failures, slow calls and every call seen by the locked path are
//     recorded under Breaker.mu, in a bit ring (Window) or locked buckets
//     (TimeWindow), which is where the rate is judged.

// cell is one stripe of lock-free counters: a cache line, plus the adjacent
// line the hardware prefetches with it.
type cell struct {
	calls    atomic.Uint64 // Window(n): successes counted lock-free, ever
	rejected atomic.Uint64 // calls rejected, ever
	_        [112]byte
}

// pick returns the calling goroutine's stripe.
func (b *Breaker) pick() *cell {
	return &b.stripes[b.pickIndex()]
}

// pickIndex returns the index of the calling goroutine's stripe.
func (b *Breaker) pickIndex() int { return stripe.Index(b.mask) }

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
		clear(r.bits)
		r.ones = 0
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

// countWindow is the locked half of a Window(n). Positions number the calls
// of the current Closed generation from 1: a call's position is the number
// of calls counted so far, itself included.
type countWindow struct {
	base   uint64 // sum of the stripes' calls when the generation began
	locked uint64 // calls counted under the lock in this generation
	last   uint64 // highest position seen by the rings
	fails  bitRing
	slows  bitRing
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

// bucketAdd counts one call in w for epoch e.
func bucketAdd(w *atomic.Uint64, e uint64) {
	tag := (e & epochMask) << epochShift
	for {
		old := w.Load()
		var nw uint64
		switch {
		case old&^countMask != tag:
			if later(old>>epochShift, e) {
				return // the call is a window older than the slot: drop it
			}
			nw = tag | 1
		case old&countMask == countMask:
			return // saturated
		default:
			nw = old + 1
		}
		if w.CompareAndSwap(old, nw) {
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

// lockedBucket counts what the locked path saw in one bucket.
type lockedBucket struct {
	epoch               uint64
	calls, fails, slows int
}

// timeWindow is the locked half of a TimeWindow. Epochs number buckets on a
// virtual clock, now+offset, that Breaker.offset moves forward when the
// breaker closes so that the new generation's epochs start past every
// epoch already written: old words then fall out of the window by
// themselves, with no need to clear the stripes.
type timeWindow struct {
	bucket int64           // nanoseconds per bucket
	words  []atomic.Uint64 // stripe s, epoch e at s*stride + e&slot
	stride int
	slot   uint64        // a power of two no less than the buckets, less one
	hint   atomic.Uint64 // the epoch last computed: usually the current one
	locked []lockedBucket
}

// epoch returns the virtual epoch at now (nanoseconds since the breaker's
// start).
func (b *Breaker) epoch(now int64) uint64 {
	v := now + b.offset.Load()
	// Most calls fall in the epoch of the call before: a multiplication
	// confirms it, much cheaper than the division.
	if e := b.tw.hint.Load(); v >= int64(e)*b.tw.bucket && v < int64(e+1)*b.tw.bucket {
		return e
	}
	e := uint64(v / b.tw.bucket)
	b.tw.hint.Store(e)
	return e
}

// counts returns the calls, failures and slow calls in the window at now.
// b.mu must be held.
func (b *Breaker) counts(now int64) (calls, fails, slows int) {
	if b.cfg.win.n > 0 {
		b.advance()
		return int(min(b.cw.last, uint64(b.cfg.win.n))), b.cw.fails.ones, b.cw.slows.ones
	}
	e, n := b.epoch(now), b.cfg.win.buckets
	for i := range b.tw.words {
		if w := b.tw.words[i].Load(); inWindow(w>>epochShift, e, n) {
			calls += int(w & countMask)
		}
	}
	for _, lb := range b.tw.locked {
		if inWindow(lb.epoch, e, n) {
			calls += lb.calls
			fails += lb.fails
			slows += lb.slows
		}
	}
	return calls, fails, slows
}

// stripeCalls returns the calls counted lock-free in the stripes, ever.
func (b *Breaker) stripeCalls() uint64 {
	var sum uint64
	for i := range b.stripes {
		sum += b.stripes[i].calls.Load()
	}
	return sum
}

// position returns the current call count of a Window(n) generation.
// b.mu must be held.
func (b *Breaker) position() uint64 {
	return b.stripeCalls() - b.cw.base + b.cw.locked
}

// advance moves the rings up to the current position, clearing the bits of
// the calls counted lock-free since (all successes). b.mu must be held.
func (b *Breaker) advance() {
	p := b.position()
	if p > b.cw.last {
		b.cw.fails.clearRange(b.cw.last, p)
		b.cw.slows.clearRange(b.cw.last, p)
		b.cw.last = p
	}
}

// recordLocked counts one call in the window. b.mu must be held.
func (b *Breaker) recordLocked(now int64, failed, slow bool) {
	if b.cfg.win.n > 0 {
		b.cw.locked++
		b.advance()
		if failed {
			b.cw.fails.set(b.cw.last)
		}
		if slow {
			b.cw.slows.set(b.cw.last)
		}
		return
	}
	e := b.epoch(now)
	lb := &b.tw.locked[e%uint64(len(b.tw.locked))]
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

// resetWindow starts a new, empty window at now. b.mu must be held.
func (b *Breaker) resetWindow(now int64) {
	switch {
	case b.cfg.win.n > 0:
		b.cw.base, b.cw.locked, b.cw.last = b.stripeCalls(), 0, 0
		b.cw.fails.reset()
		b.cw.slows.reset()
	case b.cfg.win.buckets > 0:
		// Jump the virtual clock so that now starts a bucket whose epoch
		// is more than a window past every epoch written so far.
		next := b.epoch(now) + uint64(b.cfg.win.buckets) + 1
		b.offset.Store(int64(next)*b.tw.bucket - now)
		clear(b.tw.locked)
	}
}
