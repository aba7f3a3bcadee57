package limiter_test

import (
	"context"
	"errors"
	"fmt"
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

func TestAdaptiveBadOptionsPanic(t *testing.T) {
	tests := []struct {
		want string
		f    func()
	}{
		{"limiter: InitialLimit(0): n must be at least 1", func() { limiter.InitialLimit(0) }},
		{"limiter: MinLimit(-1): n must be at least 1", func() { limiter.MinLimit(-1) }},
		{"limiter: MaxLimit(0): n must be at least 1", func() { limiter.MaxLimit(0) }},
		{"limiter: Gradient(0.5): tolerance must be a finite number of at least 1", func() { limiter.Gradient(0.5) }},
		{"limiter: Gradient(NaN): tolerance must be a finite number of at least 1", func() { limiter.Gradient(math.NaN()) }},
		{"limiter: Gradient(+Inf): tolerance must be a finite number of at least 1", func() { limiter.Gradient(math.Inf(1)) }},
		{"limiter: MaxLatency(0s): d must be positive", func() { limiter.MaxLatency(0) }},
		{"limiter: Backoff(1): ratio must be in (0, 1)", func() { limiter.Backoff(1) }},
		{"limiter: Backoff(0): ratio must be in (0, 1)", func() { limiter.Backoff(0) }},
		{"limiter: OnLimitChange(nil): fn must not be nil", func() { limiter.OnLimitChange(nil) }},
		{"limiter: NewAdaptive: MinLimit(10) exceeds MaxLimit(5)", func() {
			limiter.NewAdaptive(limiter.MinLimit(10), limiter.MaxLimit(5))
		}},
	}
	for _, tt := range tests {
		assert.PanicsWithValue(t, tt.want, tt.f)
	}
}

func TestAdaptiveInitialLimitIsClamped(t *testing.T) {
	tests := []struct {
		opts []limiter.AdaptiveOption
		want int
	}{
		{nil, 20},
		{[]limiter.AdaptiveOption{limiter.MaxLimit(5)}, 5},
		{[]limiter.AdaptiveOption{limiter.MinLimit(30)}, 30},
		{[]limiter.AdaptiveOption{limiter.InitialLimit(7)}, 7},
	}
	for _, tt := range tests {
		a := limiter.NewAdaptive(tt.opts...)
		assert.Equal(t, tt.want, a.Limit())
		assert.Equal(t, limiter.SemaphoreStats{Limit: int64(tt.want)}, semGauges(a.Stats().SemaphoreStats))
	}
}

// adaptRun acquires n slots of a, then ends them all with err after d.
func adaptRun(t *testing.T, a *limiter.Adaptive, n int, d time.Duration, err error) {
	t.Helper()
	dones := make([]func(error), n)
	for i := range dones {
		done, aerr := a.Acquire(context.Background())
		require.NoError(t, aerr)
		dones[i] = done
	}
	time.Sleep(d)
	for _, done := range dones {
		done(err)
	}
}

// TestAdaptiveAIMDOutcomes checks how each outcome moves the limit.
func TestAdaptiveAIMDOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var changes []string
		a := limiter.NewAdaptive(limiter.InitialLimit(10), limiter.MinLimit(4), limiter.MaxLimit(12),
			limiter.MaxLatency(time.Second),
			limiter.OnLimitChange(func(old, new int) { changes = append(changes, fmt.Sprint(old, "->", new)) }))

		// Successes with the limit in use add 1/limit each: 10 of them
		// fall just short of +1, the 11th crosses it.
		ballast := make([]func(error), 9)
		for i := range ballast {
			ballast[i], _ = a.Acquire(context.Background())
		}
		for range 10 {
			adaptRun(t, a, 1, time.Millisecond, nil)
		}
		assert.Equal(t, 10, a.Limit())
		adaptRun(t, a, 1, time.Millisecond, nil)
		assert.Equal(t, 11, a.Limit())

		// Cancelled calls are ignored.
		for i, done := range ballast {
			if i%2 == 0 {
				done(context.Canceled)
			} else {
				done(fmt.Errorf("wrapped: %w", context.Canceled))
			}
		}
		assert.Equal(t, 11, a.Limit())

		// Successes with less than half the limit in use say nothing.
		for range 50 {
			adaptRun(t, a, 5, time.Millisecond, nil)
		}
		assert.Equal(t, 11, a.Limit())

		// A round of failures backs off once (×0.9), not once per failure.
		adaptRun(t, a, 11, time.Millisecond, errors.New("overloaded"))
		assert.Equal(t, 9, a.Limit())

		// A success slower than MaxLatency counts as a failure.
		adaptRun(t, a, 1, 2*time.Second, nil)
		assert.Equal(t, 8, a.Limit())

		// Deadline errors are failures; the limit stops at MinLimit.
		for range 10 {
			adaptRun(t, a, 1, time.Millisecond, context.DeadlineExceeded)
		}
		assert.Equal(t, 4, a.Limit())

		// And at MaxLimit on the way up.
		for range 100 {
			adaptRun(t, a, a.Limit(), time.Millisecond, nil)
		}
		assert.Equal(t, 12, a.Limit())
		assert.Equal(t, []string{"10->11", "11->9", "9->8", "8->7", "7->6", "6->5", "5->4",
			"4->5", "5->6", "6->7", "7->8", "8->9", "9->10", "10->11", "11->12"}, changes)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 12}, semGauges(a.Stats().SemaphoreStats))
	})
}

func TestAdaptiveAcquireWaitsAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := limiter.NewAdaptive(limiter.InitialLimit(1), limiter.MaxLimit(1))
		done, err := a.Acquire(context.Background())
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		done2, err := a.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Nil(t, done2)
		done(nil)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 1}, semGauges(a.Stats().SemaphoreStats))
	})
}

// adaptServer is a synthetic server: up to knee requests at once take base
// each; beyond it requests queue for the CPU and latency grows in
// proportion to the concurrency.
type adaptServer struct {
	knee     int64
	base     time.Duration
	inflight atomic.Int64
}

func (s *adaptServer) serve() {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	time.Sleep(s.base * time.Duration(max(n, s.knee)) / time.Duration(s.knee))
}

// TestAdaptiveConvergence runs more clients than the server's knee through
// an Adaptive limit and checks that the limit settles near the knee, from
// below and from above, with either algorithm.
func TestAdaptiveConvergence(t *testing.T) {
	const (
		knee    = 20
		clients = 60
		base    = 10 * time.Millisecond
		run     = 4 * time.Second
	)
	algorithms := []struct {
		name   string
		opt    limiter.AdaptiveOption
		lo, hi int
	}{
		// Latencies over 1.2 × base (more than 24 requests at once) are
		// failures: the limit saws between 0.9 × 24 and 24.
		{"AIMD", limiter.MaxLatency(base * 12 / 10), knee, knee * 13 / 10},
		// The gradient settles where limit − √limit = knee × tolerance.
		{"Gradient", limiter.Gradient(1), knee, knee * 14 / 10},
	}
	for _, alg := range algorithms {
		for _, initial := range []int{2, clients} {
			t.Run(fmt.Sprintf("%s/from=%d", alg.name, initial), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a := limiter.NewAdaptive(alg.opt, limiter.InitialLimit(initial), limiter.MaxLimit(clients))
					srv := &adaptServer{knee: knee, base: base}
					ctx, cancel := context.WithTimeout(context.Background(), run)
					defer cancel()
					var wg sync.WaitGroup
					for range clients {
						wg.Go(func() {
							for {
								done, err := a.Acquire(ctx)
								if err != nil {
									return
								}
								srv.serve()
								done(nil)
							}
						})
					}
					// Sample the limit over the second half of the run.
					time.Sleep(run / 2)
					var lo, hi int = math.MaxInt, 0
					for time.Sleep(base); ctx.Err() == nil; time.Sleep(base) {
						lo, hi = min(lo, a.Limit()), max(hi, a.Limit())
					}
					wg.Wait()
					t.Logf("limit over the second half: [%d, %d]", lo, hi)
					assert.GreaterOrEqual(t, lo, alg.lo)
					assert.LessOrEqual(t, hi, alg.hi)
				})
			})
		}
	}
}

func TestAdaptiveDoneTwiceReleasesOnce(t *testing.T) {
	a := limiter.NewAdaptive(limiter.InitialLimit(2), limiter.MinLimit(2), limiter.MaxLimit(2))
	done1, err := a.Acquire(context.Background())
	require.NoError(t, err)
	done2, err := a.Acquire(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2, a.Stats().Held)

	done1(nil)
	done1(nil) // must not release the slot done2 still holds
	assert.EqualValues(t, 1, a.Stats().Held)
	done2(nil)
	assert.EqualValues(t, 0, a.Stats().Held)
}

// TestAdaptiveOnLimitChangeMayCallBack checks that OnLimitChange runs with
// no lock held: the hook makes a failing call of its own, whose sample takes
// the lock and changes the limit again, without deadlocking, and each change
// is seen once, in order.
func TestAdaptiveOnLimitChangeMayCallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			a       *limiter.Adaptive
			changes []string
		)
		overloaded := errors.New("overloaded")
		a = limiter.NewAdaptive(limiter.InitialLimit(10),
			limiter.OnLimitChange(func(old, new int) {
				changes = append(changes, fmt.Sprint(old, "->", new))
				if len(changes) == 1 {
					done, err := a.Acquire(context.Background())
					require.NoError(t, err)
					done(overloaded) // started after the first back-off: backs off again
				}
			}))
		done, err := a.Acquire(context.Background())
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
		done(overloaded)
		assert.Equal(t, []string{"10->9", "9->8"}, changes)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 8}, semGauges(a.Stats().SemaphoreStats))
	})
}
