package limiter_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// semGauges returns st without its cumulative counters, for tests that
// compare the gauges only.
func semGauges(st limiter.SemaphoreStats) limiter.SemaphoreStats {
	st.WaitCount, st.WaitTime, st.Cancelled = 0, 0, 0
	return st
}

// bulkGauges returns st without the counters that tests comparing gauges
// and Rejected/Completed do not check.
func bulkGauges(st limiter.BulkheadStats) limiter.BulkheadStats {
	st.Failed, st.Panicked, st.Cancelled, st.WaitCount, st.WaitTime = 0, 0, 0, 0, 0
	return st
}

func TestBulkheadCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := limiter.NewBulkhead(1, 2)
		var waits []limiter.Observation
		remove := b.Observe(func(o limiter.Observation) { waits = append(waits, o) })
		defer remove()

		release := make(chan struct{})
		go b.Do(ctx, func(context.Context) error { <-release; return nil })
		synctest.Wait()
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 2)
		go func() { done <- b.Do(cctx, func(context.Context) error { return nil }) }()
		go func() { done <- b.Do(ctx, func(context.Context) error { return errors.New("failed") }) }()
		synctest.Wait()
		time.Sleep(time.Second)
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		time.Sleep(time.Second)
		close(release)
		require.EqualError(t, <-done, "failed")
		assert.Panics(t, func() { _ = b.Do(ctx, func(context.Context) error { panic("boom") }) })

		st := b.Stats()
		assert.Equal(t, limiter.BulkheadStats{Completed: 3, Failed: 1, Panicked: 1, Cancelled: 1, WaitCount: 2, WaitTime: 3 * time.Second}, st)
		require.Len(t, waits, 2)
		assert.Equal(t, "wait", waits[0].Event)
		assert.Equal(t, time.Second, waits[0].Duration)
		assert.ErrorIs(t, waits[0].Err, context.Canceled)
		assert.Equal(t, 2*time.Second, waits[1].Duration)
		assert.NoError(t, waits[1].Err)
	})
}

func TestRateCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(1, 2)
		r.Allow() // not counted: no Stats call yet
		assert.Equal(t, limiter.RateStats{}, r.Stats())
		time.Sleep(time.Second)
		r.Allow()
		r.AllowN(1)
		r.Allow()                                        // refused: the bucket is empty
		r.AllowN(3)                                      // refused: more than the burst
		_ = r.Decide()                                   // refused
		require.NoError(t, r.Wait(context.Background())) // waits a second
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		require.ErrorIs(t, r.Wait(ctx), limiter.ErrRateExceeded)
		assert.Equal(t, limiter.RateStats{Admitted: 3, Rejected: 6}, r.Stats())
	})
}

func TestKeyedCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(1, 1) }, limiter.MaxKeys(1))
		k.Allow("a")
		k.Allow("a") // refused
		k.Allow("b") // evicts a, which is still limited
		time.Sleep(2 * time.Second)
		_ = k.Decide("c") // b is idle again: expired
		assert.Equal(t, limiter.KeyedStats{Keys: 1, Admitted: 3, Rejected: 1, Expired: 1, Evicted: 1}, k.Stats())
	})
}

func TestAdaptiveCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := limiter.NewAdaptive(limiter.InitialLimit(4), limiter.Backoff(0.5))
		var calls []limiter.Observation
		defer a.Observe(func(o limiter.Observation) {
			if o.Event == "call" {
				calls = append(calls, o)
			}
		})()
		done, err := a.Acquire(context.Background())
		require.NoError(t, err)
		time.Sleep(time.Second)
		done(errors.New("failed")) // backs off: 4 -> 2
		st := a.Stats()
		assert.Equal(t, int64(2), st.Limit)
		assert.Equal(t, uint64(0), st.Increases)
		assert.Equal(t, uint64(1), st.Decreases)
		require.Len(t, calls, 1)
		assert.Equal(t, time.Second, calls[0].Duration)
		assert.EqualError(t, calls[0].Err, "failed")
	})
}

func TestCountersAllocs(t *testing.T) {
	ctx := context.Background()
	b := limiter.NewBulkhead(4, 0)
	defer b.Observe(func(limiter.Observation) {})()
	fn := func(context.Context) error { return nil }
	r := limiter.NewRate(limiter.Inf, 1)
	r2 := limiter.NewRate(1e9, 1000)
	r2.Stats() // counting
	for name, f := range map[string]func(){
		"Bulkhead.Do observed": func() { _ = b.Do(ctx, fn) },
		"Rate.Allow":           func() { r.Allow(); r2.Allow() },
		"Stats":                func() { _ = b.Stats(); _ = r.Stats() },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocs, want 0", name, n)
		}
	}
}
