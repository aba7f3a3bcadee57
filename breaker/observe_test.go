package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/breaker"
)

func TestSucceededCountsFromFirstStats(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.ConsecutiveFailures(3))
	for range 3 {
		require.NoError(t, b.Do(ctx, ok))
	}
	_ = b.Do(ctx, fail)
	_ = b.Do(ctx, func(context.Context) error { return context.Canceled })
	assert.Equal(t, breaker.Stats{State: breaker.Closed, ConsecutiveFailures: 1, Failed: 1, Ignored: 1}, b.Stats(),
		"successes before the first Stats call are not counted")
	for range 4 {
		require.NoError(t, b.Do(ctx, ok))
	}
	_, err := breaker.Get(ctx, b, func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err)
	done, err := b.Allow()
	require.NoError(t, err)
	done(nil)
	done(nil) // counts once
	assert.Equal(t, breaker.Stats{State: breaker.Closed, Succeeded: 6, Failed: 1, Ignored: 1}, b.Stats())
}

func TestSucceededWindowCountsFromNew(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.FailureRate(0.5, breaker.Window(10), breaker.MinCalls(10)))
	for range 5 {
		require.NoError(t, b.Do(ctx, ok))
	}
	_ = b.Do(ctx, fail)
	assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: 6, Failures: 1, ConsecutiveFailures: 1,
		Succeeded: 5, Failed: 1}, b.Stats())
}

// TestOutcomesAddUp checks that, once counting, every call made is counted
// once: succeeded, failed, ignored or rejected, in every state and in every
// configuration (the lock-free path, the timed ones, a classifier).
func TestOutcomesAddUp(t *testing.T) {
	for name, opts := range map[string][]breaker.Option{
		"consecutive": {breaker.ConsecutiveFailures(2)},
		"window":      {breaker.ConsecutiveFailures(2), breaker.FailureRate(0.9, breaker.Window(10))},
		"timewindow":  {breaker.ConsecutiveFailures(2), breaker.FailureRate(0.9, breaker.TimeWindow(time.Minute, 6))},
		"slowcalls":   {breaker.ConsecutiveFailures(2), breaker.SlowCalls(time.Hour, 1)},
		"classify":    {breaker.ConsecutiveFailures(2), breaker.IsFailure(func(err error) bool { return err != nil })},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				b := breaker.New(append(opts, breaker.OpenFor(time.Second), breaker.HalfOpenProbes(2))...)
				b.Stats()
				calls := 0
				do := func(fn func(context.Context) error) { calls++; _ = b.Do(ctx, fn) }
				do(ok)
				do(fail)
				do(ok)
				do(func(context.Context) error { return context.Canceled })
				do(fail)
				do(fail) // opens
				do(ok)   // rejected
				time.Sleep(time.Second)
				synctest.Wait()
				do(ok) // probe
				do(ok) // probe: closes
				do(ok)
				s := b.Stats()
				assert.Equal(t, uint64(calls), s.Succeeded+s.Failed+s.Ignored+s.Rejected, "%+v", s)
				assert.Equal(t, breaker.Closed, s.State)
				assert.Equal(t, uint64(1), s.Rejected)
			})
		})
	}
}

// TestCountingStartsMidCall checks that a success admitted before the first
// Stats call and finished after it is counted, and still ends the run of
// failures: setting the breaker's counting bit does not make it a result
// of an earlier generation.
func TestCountingStartsMidCall(t *testing.T) {
	ctx := context.Background()
	b := breaker.New(breaker.ConsecutiveFailures(2))
	_ = b.Do(ctx, fail)
	require.NoError(t, b.Do(ctx, func(context.Context) error {
		b.Stats()
		return nil
	}))
	_ = b.Do(ctx, fail) // a run of one: the success ended the first
	assert.Equal(t, breaker.Stats{State: breaker.Closed, ConsecutiveFailures: 1, Succeeded: 1, Failed: 2}, b.Stats())
}

func TestLateSuccessCounted(t *testing.T) {
	ctx := context.Background()
	b := breaker.New()
	b.Stats()
	require.NoError(t, b.Do(ctx, func(context.Context) error {
		b.ForceOpen()
		b.Reset()
		return nil
	}))
	s := b.Stats()
	assert.Equal(t, uint64(1), s.Succeeded, "a late success is counted, if not judged")
	assert.Equal(t, breaker.Closed, s.State)
}

func TestSucceededConcurrent(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]breaker.Option{
		"consecutive": nil,
		"window":      {breaker.FailureRate(0.5, breaker.Window(100))},
	} {
		t.Run(name, func(t *testing.T) {
			b := breaker.New(opts...)
			const goroutines, each = 8, 500
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range goroutines {
				wg.Go(func() {
					<-start
					for range each {
						_ = b.Do(ctx, ok)
					}
				})
			}
			b.Stats()
			close(start)
			wg.Go(func() {
				for range 50 {
					b.Stats()
				}
			})
			wg.Wait()
			assert.Equal(t, uint64(goroutines*each), b.Stats().Succeeded)
		})
	}
}

func TestClosedPathAllocsNothing(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]breaker.Option{
		"consecutive": nil,
		"window":      {breaker.FailureRate(0.5, breaker.Window(100))},
	} {
		for _, counting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/counting=%v", name, counting), func(t *testing.T) {
				b := breaker.New(opts...)
				if counting {
					b.Stats()
				}
				allocs := testing.AllocsPerRun(1000, func() { _ = b.Do(ctx, ok) })
				assert.Zero(t, allocs, "Do")
				allocs = testing.AllocsPerRun(1000, func() {
					_, _ = breaker.Get(ctx, b, func(context.Context) (int, error) { return 1, nil })
				})
				assert.Zero(t, allocs, "Get")
				if counting {
					assert.Equal(t, uint64(2002), b.Stats().Succeeded) // AllocsPerRun makes one warm-up call
				}
			})
		}
	}
}

func TestObserve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Minute))
		var got []breaker.Observation
		remove := b.Observe(func(o breaker.Observation) { got = append(got, o) })
		require.NoError(t, b.Do(ctx, func(context.Context) error { time.Sleep(2 * time.Second); return nil }))
		v, err := breaker.Get(ctx, b, func(context.Context) (int, error) { time.Sleep(time.Second); return 7, nil })
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		done, err := b.Allow()
		require.NoError(t, err)
		time.Sleep(3 * time.Second)
		done(nil)
		done(errBoom) // counted and observed once
		err = b.Do(ctx, func(context.Context) error { time.Sleep(500 * time.Millisecond); return errBoom })
		require.ErrorIs(t, err, errBoom) // opens
		require.ErrorIs(t, b.Do(ctx, ok), breaker.ErrOpen, "a rejected call is not observed")
		assert.Equal(t, []breaker.Observation{
			{Event: "call", Duration: 2 * time.Second},
			{Event: "call", Duration: time.Second},
			{Event: "call", Duration: 3 * time.Second},
			{Event: "call", Duration: 500 * time.Millisecond, Err: errBoom},
		}, got)
		s := b.Stats()
		assert.Equal(t, uint64(1), s.Failed)
		assert.Equal(t, uint64(1), s.Opened)
		remove()
		remove()
		b.Reset()
		require.NoError(t, b.Do(ctx, ok))
		assert.Len(t, got, 4, "nothing is observed once removed")
	})
}

func TestObservePanic(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	var got []breaker.Observation
	defer b.Observe(func(o breaker.Observation) { got = append(got, o) })()
	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Do(context.Background(), func(context.Context) error { panic("boom") })
	})
	require.Len(t, got, 1)
	assert.Equal(t, "call", got[0].Event)
	assert.Error(t, got[0].Err, "a panic is observed with an error")
	assert.Equal(t, breaker.Open, b.State(), "and counted as a failure")
}

func TestObserveHalfOpenProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		_ = b.Do(ctx, fail)
		var got []breaker.Observation
		defer b.Observe(func(o breaker.Observation) { got = append(got, o) })()
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, b.Do(ctx, func(context.Context) error { time.Sleep(time.Millisecond); return nil }))
		assert.Equal(t, []breaker.Observation{{Event: "call", Duration: time.Millisecond}}, got)
		assert.Equal(t, breaker.Closed, b.State(), "the observed probe closed the breaker")
	})
}

func TestObserveNil(t *testing.T) {
	assert.PanicsWithValue(t, "breaker: Observe(nil)", func() { breaker.New().Observe(nil) })
}

func TestObservedClosedPathAllocs(t *testing.T) {
	ctx := context.Background()
	b := breaker.New()
	defer b.Observe(func(breaker.Observation) {})()
	assert.Zero(t, testing.AllocsPerRun(1000, func() { _ = b.Do(ctx, ok) }))
}

func ExampleBreaker_Observe() {
	b := breaker.New()
	remove := b.Observe(func(o breaker.Observation) {
		fmt.Println(o.Event, o.Err)
	})
	defer remove()
	_ = b.Do(context.Background(), func(context.Context) error { return nil })
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("refused") })
	// Output:
	// call <nil>
	// call refused
}

func ExampleBreaker_Stats() {
	b := breaker.New()
	b.Stats() // count successes from here on
	ctx := context.Background()
	_ = b.Do(ctx, func(context.Context) error { return nil })
	_ = b.Do(ctx, func(context.Context) error { return errors.New("refused") })
	_ = b.Do(ctx, func(context.Context) error { return context.Canceled })
	s := b.Stats()
	fmt.Println("succeeded", s.Succeeded, "failed", s.Failed, "ignored", s.Ignored, "rejected", s.Rejected)
	// Output:
	// succeeded 1 failed 1 ignored 1 rejected 0
}
