package breaker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBucketAdd(t *testing.T) {
	word := func(e, n uint64) uint64 { return (e&epochMask)<<epochShift | n }
	tests := []struct {
		name     string
		old      uint64
		e        uint64
		want     uint64
		inWindow bool // of 10 buckets ending at e
	}{
		{"empty slot", 0, 5, word(5, 1), true},
		{"same epoch", word(12, 3), 12, word(12, 4), true},
		{"older epoch is replaced", word(2, 3), 12, word(12, 1), true},
		{"later epoch is kept", word(22, 3), 12, word(22, 3), false},
		{"saturated", word(7, countMask), 7, word(7, countMask), true},
		{"epoch wraps", word(epochMask, 3), epochMask + 10, word(epochMask+10, 1), true},
		{"wrapped epoch is later", word(epochMask+10, 3), epochMask, word(epochMask+10, 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w atomic.Uint64
			w.Store(tt.old)
			bucketAdd(&w, tt.e)
			assert.Equal(t, tt.want, w.Load())
			assert.Equal(t, tt.inWindow, inWindow(w.Load()>>epochShift, tt.e, 10))
		})
	}
}

func TestBitRing(t *testing.T) {
	r := newBitRing(130)
	for _, p := range []uint64{1, 64, 65, 129, 130} {
		r.set(p)
	}
	assert.Equal(t, 5, r.ones)
	r.clearRange(130, 194) // positions 131..194 reuse slots 1..64
	assert.Equal(t, 3, r.ones)
	r.clearRange(194, 195) // slot 65
	assert.Equal(t, 2, r.ones)
	r.clearRange(195, 195+130) // a whole window of successes
	assert.Equal(t, 0, r.ones)
	assert.Equal(t, make([]uint64, 3), r.bits)
}

func TestCountWindow(t *testing.T) {
	w := newCountWindow(4)
	w.record(0, true, false) // position 1: failure
	w.success()              // 2
	w.record(0, false, true) // 3: slow success
	calls, fails, slows := w.counts(0)
	assert.Equal(t, [3]int{3, 1, 1}, [3]int{calls, fails, slows})
	w.success() // 4
	w.success() // 5: position 1 leaves the window
	calls, fails, slows = w.counts(0)
	assert.Equal(t, [3]int{4, 0, 1}, [3]int{calls, fails, slows})
	w.reset(0)
	calls, fails, slows = w.counts(0)
	assert.Equal(t, [3]int{0, 0, 0}, [3]int{calls, fails, slows})
	w.success()
	w.record(0, true, false)
	calls, fails, _ = w.counts(0)
	assert.Equal(t, [2]int{2, 1}, [2]int{calls, fails}, "counts start again after reset")
}

func TestTimeWindow(t *testing.T) {
	const ms = int64(time.Millisecond)
	w := newTimeWindow(time.Second, 10) // buckets of 100ms
	w.success(0)
	w.record(50*ms, true, false)
	w.record(150*ms, false, true)
	calls, fails, slows := w.counts(150 * ms)
	assert.Equal(t, [3]int{3, 1, 1}, [3]int{calls, fails, slows})
	calls, fails, slows = w.counts(999 * ms) // bucket 9: all still in
	assert.Equal(t, [3]int{3, 1, 1}, [3]int{calls, fails, slows})
	calls, fails, slows = w.counts(1000 * ms) // bucket 10: bucket 0 has left
	assert.Equal(t, [3]int{1, 0, 1}, [3]int{calls, fails, slows})
	w.reset(1000 * ms)
	calls, _, _ = w.counts(1000 * ms)
	assert.Zero(t, calls, "reset empties the window")
	w.success(1000 * ms)
	w.success(1050 * ms)
	calls, _, _ = w.counts(1050 * ms)
	assert.Equal(t, 2, calls, "the next generation counts from reset on")
}
