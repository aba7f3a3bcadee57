package gcra_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/gcra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParams(t *testing.T) {
	tests := []struct {
		perSecond     float64
		burst         int
		max           int64
		interval, tol int64
		ok            bool
	}{
		{10, 3, 1 << 61, 100_000_000, 300_000_000, true},
		{3, 1, 1 << 61, 333_333_333, 333_333_333, true},
		{2e9, 5, 1 << 61, 1, 5, true}, // rounds to at least 1ns
		{gcra.Inf, 7, 1 << 61, 0, 0, true},
		{math.Inf(1), 7, 1 << 61, 0, 0, true},
		{1, 10, int64(10 * time.Second), 1e9, 10e9, true},
		{1, 11, int64(10 * time.Second), 0, 0, false},
		{1e-10, 1, 1 << 61, 0, 0, false},
	}
	for _, tt := range tests {
		i, tol, ok := gcra.Params(tt.perSecond, tt.burst, tt.max)
		if i != tt.interval || tol != tt.tol || ok != tt.ok {
			t.Errorf("Params(%v, %d, %d) = %d, %d, %v; want %d, %d, %v", tt.perSecond, tt.burst, tt.max, i, tol, ok, tt.interval, tt.tol, tt.ok)
		}
	}
}

func TestStep(t *testing.T) {
	// T = 10, burst 3: tolerance 30.
	next, wait := gcra.Step(0, 100, 10, 30) // full bucket: tat in the past
	if next != 110 || wait != -20 {
		t.Errorf("Step from a full bucket = %d, %d", next, wait)
	}
	next, wait = gcra.Step(125, 100, 10, 30) // 2.5 events outstanding
	if next != 135 || wait != 5 {
		t.Errorf("Step ahead = %d, %d", next, wait)
	}
	next, wait = gcra.Step(math.MinInt64, 100, 10, 30) // a state that predates every clock
	if next != 110 || wait != -20 {
		t.Errorf("Step from MinInt64 = %d, %d", next, wait)
	}
}

func TestTake(t *testing.T) {
	var cell atomic.Int64
	const T, tol = 10, 30
	type step struct {
		now, inc, limit int64
		tat, wait       int64
		ok              bool
	}
	for i, s := range []step{
		{0, T, 0, 10, -20, true},
		{0, T, 0, 20, -10, true},
		{0, T, 0, 30, 0, true},
		{0, T, 0, 30, 10, false}, // refused: nothing stored
		{5, T, 0, 30, 5, false},
		{10, T, 0, 40, 0, true},
		{10, 2 * T, 20, 60, 20, true}, // a reservation within the limit
		{10, T, 15, 60, 30, false},    // beyond it
	} {
		tat, wait, ok := gcra.Take(&cell, s.now, s.inc, tol, s.limit)
		if tat != s.tat || wait != s.wait || ok != s.ok {
			t.Errorf("step %d: Take = %d, %d, %v; want %d, %d, %v", i, tat, wait, ok, s.tat, s.wait, s.ok)
		}
	}
	if got := cell.Load(); got != 60 {
		t.Errorf("cell = %d, want 60", got)
	}
}

// TestTakeConcurrent checks that concurrent takes at one instant admit
// exactly the burst.
func TestTakeConcurrent(t *testing.T) {
	var cell atomic.Int64
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, _, ok := gcra.Take(&cell, 1000, 10, 50*10, 0); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if admitted.Load() != 50 {
		t.Errorf("admitted %d at one instant, want the burst of 50", admitted.Load())
	}
}

func TestTakeAllocs(t *testing.T) {
	var cell atomic.Int64
	if n := testing.AllocsPerRun(100, func() { gcra.Take(&cell, 0, 1, 1<<40, 0) }); n != 0 {
		t.Errorf("Take allocates %v times", n)
	}
}

func TestRemaining(t *testing.T) {
	for _, tt := range []struct {
		wait, interval int64
		want           int
	}{{-20, 10, 2}, {-25, 10, 2}, {0, 10, 0}, {5, 10, 0}, {-20, 0, 0}} {
		if got := gcra.Remaining(tt.wait, tt.interval); got != tt.want {
			t.Errorf("Remaining(%d, %d) = %d, want %d", tt.wait, tt.interval, got, tt.want)
		}
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if !gcra.Sleep(t.Context(), int64(time.Second)) || time.Since(start) != time.Second {
			t.Errorf("Sleep(1s) ended after %v", time.Since(start))
		}
		if !gcra.Sleep(t.Context(), 0) || !gcra.Sleep(t.Context(), -5) {
			t.Error("Sleep(<= 0) did not return true")
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		if gcra.Sleep(ctx, int64(time.Second)) || time.Since(start) != 300*time.Millisecond {
			t.Errorf("Sleep past the deadline ended after %v", time.Since(start))
		}
	})
}

// Example shows a GCRA limiter of one event per 100ns with a burst of 2,
// driven by an explicit clock.
func Example() {
	var tat atomic.Int64
	interval, tolerance, _ := gcra.Params(1e7, 2, 1<<61) // 10M per second: T = 100ns
	for _, now := range []int64{0, 0, 0, 100, 150} {
		_, wait, ok := gcra.Take(&tat, now, interval, tolerance, 0)
		fmt.Printf("t=%dns ok=%v wait=%d\n", now, ok, max(wait, 0))
	}
	// Output:
	// t=0ns ok=true wait=0
	// t=0ns ok=true wait=0
	// t=0ns ok=false wait=100
	// t=100ns ok=true wait=0
	// t=150ns ok=false wait=50
}
