package retry_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weftgo/weft/retry"
)

// FuzzBackoffBounds checks every delay of an Exponential schedule against a
// reference model: base(k) = min(max, initial·m^k), and each jitter's bounds
// around it.
func FuzzBackoffBounds(f *testing.F) {
	f.Add(int64(time.Millisecond), int64(time.Second), 2.0, uint8(0), uint16(20), uint64(1))
	f.Add(int64(1), int64(math.MaxInt64), 10.0, uint8(1), uint16(1000), uint64(2))
	f.Add(int64(0), int64(0), 1.0, uint8(2), uint16(5), uint64(3))
	f.Add(int64(time.Hour), int64(time.Hour), 1.5, uint8(3), uint16(100), uint64(4))
	f.Add(int64(3), int64(math.MaxInt64-1), 1e300, uint8(0), uint16(1000), uint64(5))
	f.Fuzz(func(t *testing.T, initial, span int64, mult float64, jitter uint8, tries uint16, seed uint64) {
		if initial < 0 || span < 0 || !(mult >= 1) || math.IsInf(mult, 1) {
			t.Skip()
		}
		maxD := time.Duration(initial)
		if span <= math.MaxInt64-initial {
			maxD += time.Duration(span)
		} else {
			maxD = math.MaxInt64
		}
		init := time.Duration(initial)
		jitters := []retry.Option{retry.NoJitter(), retry.FullJitter(), retry.EqualJitter(), retry.DecorrelatedJitter()}
		p := retry.New(retry.Attempts(int(tries)%1001+1), retry.Exponential(init, maxD), retry.Multiplier(mult),
			jitters[jitter%4], retry.Rand(rand.NewPCG(seed, seed)))

		prev := init
		k := 0
		for d := range p.Delays() {
			if d < 0 || d > maxD {
				t.Fatalf("delay %d = %v, outside [0, %v]", k, d, maxD)
			}
			ref := math.Min(float64(maxD), float64(init)*math.Pow(mult, float64(k)))
			// The schedule multiplies step by step; allow rounding.
			tol := ref*1e-9 + 1
			switch jitter % 4 {
			case 0:
				if math.Abs(float64(d)-ref) > tol {
					t.Fatalf("delay %d = %v, want %v", k, d, time.Duration(ref))
				}
			case 1:
				if float64(d) > ref+tol {
					t.Fatalf("full jitter delay %d = %v, above %v", k, d, time.Duration(ref))
				}
			case 2:
				if float64(d) > ref+tol || float64(d) < ref/2-tol {
					t.Fatalf("equal jitter delay %d = %v, outside [%v, %v]", k, d, time.Duration(ref/2), time.Duration(ref))
				}
			case 3:
				hi := math.Min(float64(maxD), 3*float64(prev))
				if d < init || float64(d) > hi {
					t.Fatalf("decorrelated delay %d = %v, outside [%v, %v]", k, d, init, time.Duration(hi))
				}
			}
			prev = d
			k++
		}
		if k != int(tries)%1001 {
			t.Fatalf("%d delays, want %d", k, int(tries)%1001)
		}
	})
}
