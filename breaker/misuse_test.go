package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/breaker"
)

func TestZeroBreakerPanics(t *testing.T) {
	const msg = "breaker: Breaker used without New"
	var b breaker.Breaker
	assert.PanicsWithValue(t, msg, func() { _ = b.Do(context.Background(), ok) })
	assert.PanicsWithValue(t, msg, func() {
		_, _ = breaker.Get(context.Background(), &b, func(context.Context) (int, error) { return 1, nil })
	})
	assert.PanicsWithValue(t, msg, func() { _, _ = b.Allow() })
	assert.PanicsWithValue(t, msg, func() { b.State() })
	assert.PanicsWithValue(t, msg, func() { b.Stats() })
	assert.PanicsWithValue(t, msg, func() { b.Reset() })
	assert.PanicsWithValue(t, msg, func() { b.ForceOpen() })
}

func TestNilArgumentsPanicBeforeCounting(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	var nilCtx context.Context
	assert.PanicsWithValue(t, "breaker: nil function", func() { _ = b.Do(context.Background(), nil) })
	assert.PanicsWithValue(t, "breaker: nil context", func() { _ = b.Do(nilCtx, ok) })
	assert.PanicsWithValue(t, "breaker: nil function", func() {
		_, _ = breaker.Get[int](context.Background(), b, nil)
	})
	assert.PanicsWithValue(t, "breaker: nil context", func() {
		_, _ = breaker.Get(nilCtx, b, func(context.Context) (int, error) { return 1, nil })
	})
	assert.Equal(t, breaker.Stats{State: breaker.Closed}, b.Stats(), "nothing was counted")
}

// TestOnStateChangeOnTime checks that an Open breaker turns HalfOpen, and
// says so, when OpenFor ends, with no call looking at it.
func TestOnStateChangeOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		changed := make(chan time.Duration, 4)
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(200*time.Millisecond),
			breaker.OnStateChange(func(from, to breaker.State) {
				if to == breaker.HalfOpen {
					changed <- time.Since(start)
				}
			}))
		call(b, errBoom)
		assert.InDelta(t, 200*time.Millisecond, <-changed, 1, "on time, to the nanosecond the timer is early by")
		var oe *breaker.OpenError
		require.NoError(t, b.Do(context.Background(), ok), "the probe")
		call(b, errBoom)
		require.ErrorAs(t, b.Do(context.Background(), ok), &oe)
	})
}

// TestTimerStopped checks that Reset and ForceOpen stop the timer of an
// Open period: nothing fires later, and no transition is reported.
func TestTimerStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second), rec.option())
		call(b, errBoom)
		b.Reset()
		call(b, errBoom)
		b.ForceOpen()
		sleep(time.Hour)
		assert.Equal(t, breaker.Open, b.State())
		assert.Equal(t, []string{"closed>open", "open>closed", "closed>open"}, rec.transitions(),
			"ForceOpen from Open is no transition, and no timer made it half-open")
	})
}

// TestOpenRejectsShareOneError checks that the rejections of an Open breaker
// count and share one error, and that the error's RetryAfter counts down.
func TestOpenRejectsShareOneError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		b.Stats() // count rejections from here
		call(b, errBoom)
		e1, e2 := b.Do(context.Background(), ok), b.Do(context.Background(), ok)
		assert.Same(t, e1, e2)
		var oe *breaker.OpenError
		require.ErrorAs(t, e1, &oe)
		time.Sleep(300 * time.Millisecond)
		assert.Equal(t, 700*time.Millisecond, oe.RetryAfter())
		assert.Equal(t, uint64(2), b.Stats().Rejected)
	})
}

// TestRejectedCountsFromFirstStats checks that rejections are counted from
// the first Stats call on, whether the breaker was open before it or opens
// after it, and that Do, Get and Allow reject alike either way.
func TestRejectedCountsFromFirstStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		call(b, errBoom)
		reject := func() {
			require.ErrorIs(t, b.Do(ctx, ok), breaker.ErrOpen)
			_, err := breaker.Get(ctx, b, func(context.Context) (int, error) { return 1, nil })
			require.ErrorIs(t, err, breaker.ErrOpen)
			_, err = b.Allow()
			require.ErrorIs(t, err, breaker.ErrOpen)
		}
		reject() // not counted: no Stats call yet
		assert.Equal(t, uint64(0), b.Stats().Rejected)
		reject()
		assert.Equal(t, uint64(3), b.Stats().Rejected, "counted once Stats was called, in the same Open period")
		time.Sleep(time.Second)
		call(b, errBoom) // the probe fails: open again
		reject()
		assert.Equal(t, uint64(6), b.Stats().Rejected, "and in the next Open period")
	})
}
