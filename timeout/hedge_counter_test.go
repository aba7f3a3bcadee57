package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/timeout"
)

// TestHedgeCounter runs scripted calls through one counter and checks the
// exact counts after each.
func TestHedgeCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c timeout.HedgeCounter
		assert.Equal(t, timeout.HedgeStats{}, c.Stats(), "the zero value counts nothing")
		count := timeout.CountInto(&c)
		ctx := context.Background()

		// A fast first attempt: one call, no hedge.
		r := newRecorder(func(i int) (time.Duration, error) { return ms(10), nil })
		v, err := timeout.Hedge(ctx, delay, r.fn, count)
		require.NoError(t, err)
		assert.Equal(t, 0, v)
		assert.Equal(t, timeout.HedgeStats{Calls: 1, Succeeded: 1}, c.Stats())

		// A slow first attempt: the hedge starts and wins.
		r = newRecorder(func(i int) (time.Duration, error) {
			if i == 0 {
				return -1, nil
			}
			return ms(10), nil
		})
		v, err = timeout.Hedge(ctx, delay, r.fn, count)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, timeout.HedgeStats{Calls: 2, Succeeded: 2, Hedges: 1, Won: 1}, c.Stats())

		// A slow first attempt that still wins over its two hedges.
		r = newRecorder(func(i int) (time.Duration, error) {
			if i == 0 {
				return delay + ms(50), nil
			}
			return -1, nil
		})
		v, err = timeout.Hedge(ctx, delay/4, r.fn, count, timeout.MaxHedges(2))
		require.NoError(t, err)
		assert.Equal(t, 0, v)
		assert.Equal(t, timeout.HedgeStats{Calls: 3, Succeeded: 3, Hedges: 3, Won: 1}, c.Stats())

		// Every attempt fails: the hedge starts at once with HedgeOnError.
		boom := errors.New("boom")
		r = newRecorder(func(i int) (time.Duration, error) { return ms(1), boom })
		_, err = timeout.Hedge(ctx, delay, r.fn, count, timeout.HedgeOnError())
		require.ErrorIs(t, err, boom)
		assert.Equal(t, timeout.HedgeStats{Calls: 4, Succeeded: 3, Failed: 1, Hedges: 4, Won: 1}, c.Stats())

		// A panic in the hedge.
		var calls atomic.Int32
		panicky := func(ctx context.Context) (int, error) {
			if calls.Add(1) == 2 {
				panic("hedge broke")
			}
			<-ctx.Done() // the first attempt waits until the panic cancels it
			return 0, ctx.Err()
		}
		assert.Panics(t, func() { _, _ = timeout.Hedge(ctx, delay, panicky, count) })
		assert.Equal(t, timeout.HedgeStats{Calls: 5, Succeeded: 3, Failed: 1, Panicked: 1, Hedges: 5, Won: 1}, c.Stats())

		// A panic in the first attempt, which passes through unchanged.
		assert.PanicsWithValue(t, "first broke", func() {
			_, _ = timeout.Hedge(ctx, delay, func(context.Context) (int, error) { panic("first broke") }, count)
		})
		assert.Equal(t, timeout.HedgeStats{Calls: 6, Succeeded: 3, Failed: 1, Panicked: 2, Hedges: 5, Won: 1}, c.Stats())

		// A call without CountInto counts nothing.
		_, _ = timeout.Hedge(ctx, delay, func(context.Context) (int, error) { return 0, nil })
		assert.Equal(t, timeout.HedgeStats{Calls: 6, Succeeded: 3, Failed: 1, Panicked: 2, Hedges: 5, Won: 1}, c.Stats())
	})
}

// TestHedgeCounterRunning checks that a call still running is counted in
// Calls and not yet in an outcome.
func TestHedgeCounterRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c timeout.HedgeCounter
		release := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = timeout.Hedge(context.Background(), delay, func(ctx context.Context) (int, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return 0, nil
			}, timeout.CountInto(&c))
		}()
		time.Sleep(2 * delay)
		synctest.Wait()
		assert.Equal(t, timeout.HedgeStats{Calls: 1, Hedges: 1}, c.Stats())
		close(release)
		<-done
		st := c.Stats()
		assert.Equal(t, uint64(1), st.Succeeded)
	})
}

// TestHedgeCounterConcurrent shares one counter among many calls.
func TestHedgeCounterConcurrent(t *testing.T) {
	var c timeout.HedgeCounter
	count := timeout.CountInto(&c)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, _ = timeout.Hedge(context.Background(), 0, func(ctx context.Context) (int, error) {
				if i%2 == 0 {
					return 0, errors.New("odd")
				}
				return 1, nil
			}, count)
		})
	}
	wg.Wait()
	st := c.Stats()
	assert.Equal(t, uint64(50), st.Calls)
	assert.GreaterOrEqual(t, st.Hedges, uint64(25), "every failed first attempt was hedged")
	assert.LessOrEqual(t, st.Hedges, st.Calls, "one hedge at most per call")
	assert.Equal(t, st.Calls, st.Succeeded+st.Failed+st.Panicked)
	assert.LessOrEqual(t, st.Won, st.Succeeded)
}

func TestCountIntoNil(t *testing.T) {
	assert.PanicsWithValue(t, "timeout: CountInto(nil)", func() { timeout.CountInto(nil) })
}

// TestHedgeCounterAllocs checks that CountInto adds no allocation to a
// Hedge call, whether the option is made once or at each call.
func TestHedgeCounterAllocs(t *testing.T) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	var c timeout.HedgeCounter
	count := timeout.CountInto(&c)
	plain := testing.AllocsPerRun(200, func() { _, _ = timeout.Hedge(ctx, time.Second, fn) })
	withOpt := testing.AllocsPerRun(200, func() { _, _ = timeout.Hedge(ctx, time.Second, fn, count) })
	inline := testing.AllocsPerRun(200, func() { _, _ = timeout.Hedge(ctx, time.Second, fn, timeout.CountInto(&c)) })
	assert.Equal(t, plain, withOpt, "CountInto made once")
	assert.Equal(t, plain, inline, "CountInto made at the call")
	stats := testing.AllocsPerRun(200, func() { _ = c.Stats() })
	assert.Zero(t, stats, "Stats")
	t.Logf("allocs per Hedge call: %v without CountInto, %v with it made once, %v made at the call", plain, withOpt, inline)
	runtime.KeepAlive(&c)
}

func ExampleCountInto() {
	var c timeout.HedgeCounter
	count := timeout.CountInto(&c) // made once, given to every call

	fast := func(context.Context) (string, error) { return "fast", nil }
	_, _ = timeout.Hedge(context.Background(), time.Second, fast, count)

	var calls atomic.Int32
	slowFirst := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // stuck until the hedge wins
			return "", ctx.Err()
		}
		return "hedged", nil
	}
	_, _ = timeout.Hedge(context.Background(), time.Millisecond, slowFirst, count)

	st := c.Stats()
	fmt.Printf("calls %d, succeeded %d, hedges %d, won by a hedge %d\n", st.Calls, st.Succeeded, st.Hedges, st.Won)
	// Output: calls 2, succeeded 2, hedges 1, won by a hedge 1
}
