package monitor

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

var inf = math.Inf(1)

func TestQuantile(t *testing.T) {
	// Bounds as runtime/metrics gives them: -Inf first, +Inf last.
	b := []float64{-inf, 0, 1, 2, 4, 8, inf}
	tests := []struct {
		name   string
		counts []uint64
		q      float64
		want   float64
	}{
		{"empty", []uint64{0, 0, 0, 0, 0, 0}, 0.5, 0},
		// 10 values in [1,2): the median is halfway, the p99 at 1.99.
		{"one bucket median", []uint64{0, 0, 10, 0, 0, 0}, 0.5, 1.5},
		{"one bucket p99", []uint64{0, 0, 10, 0, 0, 0}, 0.99, 1.99},
		{"one bucket min", []uint64{0, 0, 10, 0, 0, 0}, 0, 1},
		{"one bucket max", []uint64{0, 0, 10, 0, 0, 0}, 1, 2},
		// 4 in [0,1), 4 in [2,4), 2 in [4,8): total 10.
		// p50: rank 5, 4 below, 1 of 4 into [2,4): 2 + 2·1/4 = 2.5.
		{"spread p50", []uint64{0, 4, 0, 4, 2, 0}, 0.5, 2.5},
		// p90: rank 9, 8 below, 1 of 2 into [4,8): 4 + 4·1/2 = 6.
		{"spread p90", []uint64{0, 4, 0, 4, 2, 0}, 0.9, 6},
		// p25: rank 2.5 in [0,1): 2.5/4.
		{"spread p25", []uint64{0, 4, 0, 4, 2, 0}, 0.25, 0.625},
		// p80: rank 8 exactly at the top of [2,4).
		{"bucket edge", []uint64{0, 4, 0, 4, 2, 0}, 0.8, 4},
		// The +Inf bucket yields its lower bound, never +Inf.
		{"+Inf bucket", []uint64{0, 0, 0, 0, 0, 5}, 0.99, 8},
		{"+Inf bucket in the tail", []uint64{0, 0, 99, 0, 0, 1}, 0.999, 8},
		// The -Inf bucket yields its upper bound, never -Inf.
		{"-Inf bucket", []uint64{3, 0, 0, 0, 0, 0}, 0.5, 0},
		// 100 values: 98 in [0,1), 2 in [4,8). p99: rank 99, 98 below,
		// half of the [4,8) bucket: 6.
		{"tail", []uint64{0, 98, 0, 0, 2, 0}, 0.99, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, quantile(b, tt.counts, tt.q), 1e-9)
		})
	}
}

func TestQuantileBothInfinite(t *testing.T) {
	assert.Equal(t, 0.0, quantile([]float64{-inf, inf}, []uint64{7}, 0.5))
}

func TestMaxValue(t *testing.T) {
	b := []float64{-inf, 0, 1, 2, 4, 8, inf}
	assert.Equal(t, 0.0, maxValue(b, []uint64{0, 0, 0, 0, 0, 0}))
	assert.Equal(t, 4.0, maxValue(b, []uint64{0, 3, 0, 1, 0, 0}))
	assert.Equal(t, 8.0, maxValue(b, []uint64{0, 3, 0, 1, 0, 2}), "+Inf bucket: its lower bound")
	assert.Equal(t, 0.0, maxValue(b, []uint64{5, 0, 0, 0, 0, 0}), "-Inf bucket: 0")
}

func TestSub(t *testing.T) {
	d := make([]uint64, 4)
	sub(d, []uint64{5, 7, 9, 1}, []uint64{2, 7, 4, 3})
	assert.Equal(t, []uint64{3, 0, 5, 0}, d, "a bucket that went down counts as 0")
}

// TestQuantileRuntimeBuckets checks the arithmetic on the runtime's own
// scheduler-latency bounds: values spread in one bucket come back within it.
func TestQuantileRuntimeBuckets(t *testing.T) {
	s := newRuntimeSource()
	b, _ := s.buckets()
	if b == nil {
		t.Skip("no /sched/latencies:seconds on this toolchain")
	}
	c := make([]uint64, len(b)-1)
	i := len(b) / 2 // some finite bucket
	for math.IsInf(b[i+1], 1) || math.IsInf(b[i], -1) {
		i--
	}
	c[i] = 100
	assert.GreaterOrEqual(t, quantile(b, c, 0.99), b[i])
	assert.LessOrEqual(t, quantile(b, c, 0.99), b[i+1])
	assert.Equal(t, b[i+1], maxValue(b, c))
}

// FuzzQuantile checks the quantiles of arbitrary histograms on the
// runtime's kind of bounds: finite, ordered, and within the non-empty
// buckets.
func FuzzQuantile(f *testing.F) {
	f.Add([]byte{0, 4, 0, 4, 2, 0}, 0.5)
	f.Add([]byte{9, 0, 0, 0, 0, 1}, 0.99)
	f.Fuzz(func(t *testing.T, raw []byte, q float64) {
		if !(q >= 0 && q <= 1) {
			return
		}
		b := []float64{-inf, 0, 1, 2, 4, 8, inf}
		c := make([]uint64, len(b)-1)
		for i := range min(len(raw), len(c)) {
			c[i] = uint64(raw[i])
		}
		v, p0, p100, mx := quantile(b, c, q), quantile(b, c, 0), quantile(b, c, 1), maxValue(b, c)
		if math.IsInf(v, 0) || math.IsNaN(v) {
			t.Fatalf("quantile(%v, %v) = %v", c, q, v)
		}
		if v < p0 || v > p100 || p100 > mx {
			t.Fatalf("counts %v: q0 %v <= q%v %v <= q1 %v <= max %v does not hold", c, p0, q, v, p100, mx)
		}
		if q <= 0.5 && v > quantile(b, c, 0.5) || q >= 0.5 && v < quantile(b, c, 0.5) {
			t.Fatalf("counts %v: quantile not monotonic at %v", c, q)
		}
	})
}
