package breaker

import (
	"sync/atomic"
	"testing"

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
