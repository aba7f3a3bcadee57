package limiter_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

func TestRateNewPanics(t *testing.T) {
	tests := []struct {
		perSecond float64
		burst     int
		want      string
	}{
		{0, 1, "limiter: NewRate(0, 1): perSecond must be positive or Inf"},
		{-3, 1, "limiter: NewRate(-3, 1): perSecond must be positive or Inf"},
		{nan(), 1, "limiter: NewRate(NaN, 1): perSecond must be positive or Inf"},
		{10, 0, "limiter: NewRate(10, 0): burst must be at least 1"},
		{limiter.Inf, -1, "limiter: NewRate(1.7976931348623157e+308, -1): burst must be at least 1"},
		{1e-10, 1, "limiter: NewRate(1e-10, 1): burst/perSecond must not exceed 73 years"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.want, func() { limiter.NewRate(tt.perSecond, tt.burst) })
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestRateEvery(t *testing.T) {
	assert.Equal(t, 10.0, limiter.Every(100*time.Millisecond))
	assert.Equal(t, 0.5, limiter.Every(2*time.Second))
	assert.Equal(t, limiter.Inf, limiter.Every(0))
	assert.Equal(t, limiter.Inf, limiter.Every(-time.Second))
}

// TestRateSchedule replays AllowN calls at exact instants and checks every
// decision: a full bucket of 3, then one event per 100ms.
func TestRateSchedule(t *testing.T) {
	type step struct {
		at   time.Duration // since the limiter was created
		n    int
		want bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst then refill", []step{
			{0, 1, true}, {0, 1, true}, {0, 1, true}, {0, 1, false},
			{99 * time.Millisecond, 1, false}, {100 * time.Millisecond, 1, true},
			{100 * time.Millisecond, 1, false}, {200 * time.Millisecond, 1, true},
		}},
		{"AllowN takes all or nothing", []step{
			{0, 3, true}, {0, 1, false},
			{200 * time.Millisecond, 3, false}, {200 * time.Millisecond, 2, true},
			{time.Hour, 4, false}, {time.Hour, 3, true},
		}},
		{"a quiet spell refills only to the burst", []step{
			{0, 3, true}, {10 * time.Second, 3, true}, {10 * time.Second, 1, false},
		}},
		{"AllowN(0) is always true", []step{
			{0, 3, true}, {0, 0, true}, {0, 1, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := limiter.NewRate(10, 3)
				start := time.Now()
				for i, s := range tt.steps {
					time.Sleep(s.at - time.Since(start))
					assert.Equal(t, s.want, r.AllowN(s.n), "step %d: AllowN(%d) at %v", i, s.n, s.at)
				}
			})
		})
	}
}

func TestRateWaitSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(10, 2)
		start := time.Now()
		var got []time.Duration
		for _, n := range []int{1, 1, 1, 2, 1} {
			require.NoError(t, r.WaitN(context.Background(), n))
			got = append(got, time.Since(start))
		}
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{0, 0, 100 * ms, 300 * ms, 400 * ms}, got)
	})
}

// TestRateWaitConcurrentOrder checks that concurrent waiters are spaced
// exactly one interval apart.
func TestRateWaitConcurrentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(4, 1)
		start := time.Now()
		var mu sync.Mutex
		var got []time.Duration
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				assert.NoError(t, r.Wait(context.Background()))
				mu.Lock()
				got = append(got, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		ms := time.Millisecond
		assert.ElementsMatch(t, []time.Duration{0, 250 * ms, 500 * ms, 750 * ms, time.Second}, got)
	})
}

func TestRateWaitCancel(t *testing.T) {
	cause := errors.New("caller gave up")
	tests := []struct {
		name string
		// behind is how many waiters queue after the cancelled one.
		behind int
		// allowAt is when Allow succeeds again after the cancel at 500ms.
		allowAt time.Duration
	}{
		{"last waiter gives its slot back", 0, time.Second},
		{"a waiter with others behind forfeits its slot", 1, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := limiter.NewRate(1, 1)
				start := time.Now()
				require.True(t, r.Allow())
				ctx, cancel := context.WithCancelCause(context.Background())
				errc := make(chan error, 1)
				go func() { errc <- r.Wait(ctx) }()
				synctest.Wait()
				var wg sync.WaitGroup
				for range tt.behind {
					wg.Go(func() { assert.NoError(t, r.Wait(context.Background())) })
				}
				synctest.Wait()
				time.Sleep(500 * time.Millisecond)
				cancel(cause)
				assert.Same(t, cause, <-errc)
				assert.Equal(t, 500*time.Millisecond, time.Since(start), "Wait returns as soon as ctx ends")
				wg.Wait()
				time.Sleep(tt.allowAt - time.Since(start) - time.Nanosecond)
				assert.False(t, r.Allow(), "Allow just before %v", tt.allowAt)
				time.Sleep(time.Nanosecond)
				assert.True(t, r.Allow(), "Allow at %v", tt.allowAt)
			})
		})
	}
}

func TestRateWaitErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(10, 2)

		err := r.WaitN(context.Background(), 3)
		assert.ErrorIs(t, err, limiter.ErrRateExceeded)
		assert.EqualError(t, err, "limiter: rate exceeded: WaitN(3) exceeds the burst of 2")

		assert.PanicsWithValue(t, "limiter: Rate.WaitN(-1): n must be >= 0", func() { _ = r.WaitN(context.Background(), -1) })

		cause := errors.New("stop")
		done, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		assert.Same(t, cause, r.WaitN(done, 0), "a done ctx wins over everything")
		assert.Same(t, cause, r.WaitN(done, 3))

		// The bucket is still full: nothing above reserved anything.
		require.True(t, r.AllowN(2))

		// The next event is due in 100ms: a 50ms deadline fails at once
		// without reserving, a 100ms one waits.
		ctx, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer stop()
		start := time.Now()
		err = r.Wait(ctx)
		assert.ErrorIs(t, err, limiter.ErrRateExceeded)
		assert.EqualError(t, err, "limiter: rate exceeded: WaitN(1) would wait 100ms, past the context's deadline")
		assert.Zero(t, time.Since(start))
		ctx2, stop2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer stop2()
		assert.NoError(t, r.Wait(ctx2))
		assert.Equal(t, 100*time.Millisecond, time.Since(start))
	})
}

func TestRateAllowNPanicsOnNegative(t *testing.T) {
	r := limiter.NewRate(1, 1)
	assert.PanicsWithValue(t, "limiter: Rate.AllowN(-2): n must be >= 0", func() { r.AllowN(-2) })
}

func TestRateInf(t *testing.T) {
	r := limiter.NewRate(limiter.Inf, 1)
	assert.Equal(t, 1, r.Burst())
	for range 1000 {
		require.True(t, r.AllowN(1_000_000))
	}
	assert.NoError(t, r.WaitN(context.Background(), 1_000_000))
	assert.True(t, limiter.NewRate(limiter.Every(0), 1).Allow())
	assert.True(t, limiter.NewRate(math.Inf(1), 1).AllowN(2), "math.Inf(1) is Inf too")
}

// TestRateConcurrentAllow hammers one limiter from many goroutines while the
// bubble's clock stands still: exactly burst events are admitted, then
// exactly one per interval.
func TestRateConcurrentAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const burst, goroutines, calls = 50, 8, 500
		r := limiter.NewRate(100, burst)
		hammer := func() int64 {
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for range calls {
						if r.Allow() {
							admitted.Add(1)
						}
					}
				})
			}
			wg.Wait()
			return admitted.Load()
		}
		assert.Equal(t, int64(burst), hammer())
		time.Sleep(70 * time.Millisecond)
		assert.Equal(t, int64(7), hammer())
	})
}
