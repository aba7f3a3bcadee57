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

func TestRateDecide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(10, 3) // one event per 100ms
		want := []limiter.Decision{
			{Allowed: true, Limit: 3, Remaining: 2, Reset: 100 * time.Millisecond},
			{Allowed: true, Limit: 3, Remaining: 1, Reset: 200 * time.Millisecond},
			{Allowed: true, Limit: 3, Remaining: 0, Reset: 300 * time.Millisecond},
			{Allowed: false, Limit: 3, Remaining: 0, RetryAfter: 100 * time.Millisecond, Reset: 300 * time.Millisecond},
		}
		for i, w := range want {
			assert.Equal(t, w, r.Decide(), "decision %d", i)
		}
		time.Sleep(40 * time.Millisecond)
		assert.Equal(t, limiter.Decision{Limit: 3, RetryAfter: 60 * time.Millisecond, Reset: 260 * time.Millisecond}, r.Decide())
		time.Sleep(60 * time.Millisecond)
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 3, Remaining: 0, Reset: 300 * time.Millisecond}, r.Decide())
		time.Sleep(350 * time.Millisecond) // 50ms past full
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 100 * time.Millisecond}, r.Decide())
		time.Sleep(150 * time.Millisecond) // 50ms into the second refill
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 3, Remaining: 2, Reset: 100 * time.Millisecond}, r.Decide())
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 3, Remaining: 1, Reset: 200 * time.Millisecond}, r.Decide())
		assert.True(t, r.Allow())
		assert.False(t, r.Decide().Allowed)
	})
}

func TestRateDecideMatchesAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := limiter.NewRate(7, 4), limiter.NewRate(7, 4)
		for i := range 200 {
			d := a.Decide()
			require.Equal(t, b.Allow(), d.Allowed, "step %d", i)
			require.Equal(t, d.Allowed, d.RetryAfter == 0, "step %d", i)
			require.GreaterOrEqual(t, d.Remaining, 0)
			require.LessOrEqual(t, d.Remaining, d.Limit)
			time.Sleep(time.Duration(i%5) * 31 * time.Millisecond)
		}
	})
}

func TestRateDecideRetryAfterIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := limiter.NewRate(4, 2)
		r.Decide()
		r.Decide()
		d := r.Decide()
		require.False(t, d.Allowed)
		time.Sleep(d.RetryAfter - time.Nanosecond)
		require.False(t, r.Decide().Allowed)
		time.Sleep(time.Nanosecond)
		require.True(t, r.Decide().Allowed)
	})
}

func TestRateDecideInf(t *testing.T) {
	r := limiter.NewRate(limiter.Inf, 5)
	for range 10 {
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 5, Remaining: 5}, r.Decide())
	}
	assert.Equal(t, limiter.Inf, r.Limit())
}

func TestRateLimit(t *testing.T) {
	assert.Equal(t, 10.0, limiter.NewRate(10, 1).Limit())
	assert.Equal(t, 0.5, limiter.NewRate(0.5, 1).Limit())
	assert.Equal(t, 5, limiter.NewRate(0.5, 5).Burst())
}

func TestKeyedDecide(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(1, 2) })
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: time.Second}, k.Decide("a"))
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 2, Remaining: 0, Reset: 2 * time.Second}, k.Decide("a"))
		assert.Equal(t, limiter.Decision{Limit: 2, RetryAfter: time.Second, Reset: 2 * time.Second}, k.Decide("a"))
		assert.Equal(t, limiter.Decision{Allowed: true, Limit: 2, Remaining: 1, Reset: time.Second}, k.Decide("b"))
	})
}

func TestDecideAllocs(t *testing.T) {
	r := limiter.NewRate(1e9, 1000)
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Decide() }), "Rate.Decide")
	k := limiter.NewKeyed(func(int) *limiter.Rate { return limiter.NewRate(1e9, 1000) })
	k.Decide(1)
	assert.Zero(t, testing.AllocsPerRun(100, func() { k.Decide(1) }), "Keyed.Decide, known key")
}

// Acquirer is the interface HTTP and gRPC middleware use for concurrency
// limits: both *Bulkhead and *Adaptive implement it.
type acquirer interface {
	Acquire(context.Context) (func(error), error)
}

var (
	_ acquirer = (*limiter.Bulkhead)(nil)
	_ acquirer = (*limiter.Adaptive)(nil)
)

func TestBulkheadAcquire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := limiter.NewBulkhead(1, 1)
		ctx := t.Context()
		done1, err := b.Acquire(ctx)
		require.NoError(t, err)
		got := make(chan error, 1)
		go func() {
			done2, err := b.Acquire(ctx)
			if err == nil {
				done2(nil)
			}
			got <- err
		}()
		synctest.Wait()
		assert.Equal(t, limiter.BulkheadStats{Running: 1, Queued: 1}, bulkGauges(b.Stats()))
		done3, err := b.Acquire(ctx)
		assert.Nil(t, done3)
		assert.ErrorIs(t, err, limiter.ErrFull)
		done1(errors.New("ignored"))
		done1(nil) // a second call is ignored
		require.NoError(t, <-got)
		assert.Equal(t, limiter.BulkheadStats{Rejected: 1, Completed: 2}, bulkGauges(b.Stats()))

		cctx, cancel := context.WithCancelCause(ctx)
		cause := errors.New("gone")
		cancel(cause)
		done4, err := b.Acquire(cctx)
		assert.Nil(t, done4)
		assert.ErrorIs(t, err, cause)
	})
}

func TestBulkheadAcquireCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := limiter.NewBulkhead(1, 5)
		done, err := b.Acquire(t.Context())
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err = b.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		done(nil)
		assert.Equal(t, limiter.BulkheadStats{Completed: 1}, bulkGauges(b.Stats()))
	})
}
