package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/breaker"
)

var errBoom = errors.New("boom")

func fail(context.Context) error { return errBoom }

// call runs one call through b that returns err, and reports whether b
// let it through.
func call(b *breaker.Breaker, err error) bool {
	ran := false
	got := b.Do(context.Background(), func(context.Context) error { ran = true; return err })
	if !ran && !errors.Is(got, breaker.ErrOpen) {
		panic(fmt.Sprintf("rejected with %v", got))
	}
	return ran
}

// calls runs one call per error in errs.
func calls(b *breaker.Breaker, errs ...error) {
	for _, err := range errs {
		call(b, err)
	}
}

func repeat(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// sleep sleeps for d in a synctest bubble, then lets the breaker's timer
// run if it fired at that instant.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// slowCall runs a call that takes d (in a synctest bubble) and returns err.
func slowCall(b *breaker.Breaker, d time.Duration, err error) bool {
	ran := false
	_ = b.Do(context.Background(), func(context.Context) error { ran = true; time.Sleep(d); return err })
	return ran
}

func TestNewPanics(t *testing.T) {
	type opts = []breaker.Option
	tests := []struct {
		name string
		opts func() opts
		want string
	}{
		{"consecutive", func() opts { return opts{breaker.ConsecutiveFailures(0)} }, "breaker: ConsecutiveFailures(0): n must be at least 1"},
		{"ratio zero", func() opts { return opts{breaker.FailureRate(0)} }, "breaker: FailureRate(0): ratio must be in (0, 1]"},
		{"ratio above one", func() opts { return opts{breaker.FailureRate(1.5)} }, "breaker: FailureRate(1.5): ratio must be in (0, 1]"},
		{"ratio NaN", func() opts { return opts{breaker.FailureRate(nan())} }, "breaker: FailureRate(NaN): ratio must be in (0, 1]"},
		{"window", func() opts { return opts{breaker.FailureRate(0.5, breaker.Window(0))} }, "breaker: Window(0): n must be at least 1"},
		{"time window", func() opts { return opts{breaker.FailureRate(0.5, breaker.TimeWindow(-time.Second, 10))} }, "breaker: TimeWindow(-1s, 10): d must be positive"},
		{"time window buckets", func() opts { return opts{breaker.FailureRate(0.5, breaker.TimeWindow(time.Second, 0))} }, "breaker: TimeWindow(1s, 0)"},
		{"min calls", func() opts { return opts{breaker.FailureRate(0.5, breaker.MinCalls(0))} }, "breaker: MinCalls(0): m must be at least 1"},
		{"min calls above window", func() opts { return opts{breaker.FailureRate(0.5, breaker.Window(10), breaker.MinCalls(11))} }, "breaker: MinCalls(11): m must not exceed the window's n (Window(10))"},
		{"slow threshold", func() opts { return opts{breaker.SlowCalls(-time.Second, 0.5)} }, "breaker: SlowCalls(-1s, 0.5): threshold must be positive"},
		{"slow ratio", func() opts { return opts{breaker.SlowCalls(time.Second, 2)} }, "breaker: SlowCalls(2): ratio must be in (0, 1]"},
		{"windows differ", func() opts {
			return opts{breaker.FailureRate(0.5, breaker.Window(10)), breaker.SlowCalls(time.Second, 0.5, breaker.Window(20))}
		}, "breaker: SlowCalls: Window(20) differs from FailureRate's window, Window(10)"},
		{"open for", func() opts { return opts{breaker.OpenFor(-time.Second)} }, "breaker: OpenFor(-1s): d must not be negative"},
		{"open backoff", func() opts { return opts{breaker.OpenBackoff(-time.Second)} }, "breaker: OpenBackoff(-1s): max must be positive"},
		{"open backoff below open for", func() opts { return opts{breaker.OpenFor(time.Minute), breaker.OpenBackoff(time.Second)} }, "breaker: OpenBackoff(1s): max must be at least OpenFor (1m0s)"},
		{"probes", func() opts { return opts{breaker.HalfOpenProbes(0)} }, "breaker: HalfOpenProbes(0): n must be at least 1"},
		{"classify", func() opts { return opts{breaker.Classify(nil)} }, "breaker: Classify(nil): fn must not be nil"},
		{"on state change", func() opts { return opts{breaker.OnStateChange(nil)} }, "breaker: OnStateChange(nil): fn must not be nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "no panic")
				assert.Contains(t, r, tt.want)
			}()
			breaker.New(tt.opts()...)
		})
	}
	assert.PanicsWithValue(t, "breaker: IsFailure(nil): fn must not be nil", func() { breaker.IsFailure(nil) })
}

func nan() float64 { zero := 0.0; return zero / zero }

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", breaker.Closed.String())
	assert.Equal(t, "open", breaker.Open.String())
	assert.Equal(t, "half-open", breaker.HalfOpen.String())
	assert.Equal(t, "State(7)", breaker.State(7).String())
	assert.Equal(t, "success", breaker.Success.String())
	assert.Equal(t, "failure", breaker.Failure.String())
	assert.Equal(t, "ignore", breaker.Ignore.String())
	assert.Equal(t, "Outcome(9)", breaker.Outcome(9).String())
}

// recorder collects transitions from OnStateChange.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) option() breaker.Option {
	return breaker.OnStateChange(func(from, to breaker.State) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, from.String()+">"+to.String())
	})
}

func (r *recorder) transitions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func TestConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.ConsecutiveFailures(3), breaker.OpenFor(time.Second), rec.option())
		calls(b, errBoom, errBoom, nil, errBoom, errBoom) // the success resets the run
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, 2, b.Stats().ConsecutiveFailures)
		calls(b, context.Canceled) // ignored: neither extends nor resets
		assert.Equal(t, 2, b.Stats().ConsecutiveFailures)
		calls(b, errBoom)
		assert.Equal(t, breaker.Open, b.State())

		// Open: rejected with the time until the probe.
		err := b.Do(context.Background(), fail)
		var oe *breaker.OpenError
		require.ErrorAs(t, err, &oe)
		assert.ErrorIs(t, err, breaker.ErrOpen)
		assert.Equal(t, breaker.Open, oe.State())
		assert.Equal(t, time.Second, oe.RetryAfter())
		sleep(time.Second - time.Millisecond)
		assert.Equal(t, time.Millisecond, oe.RetryAfter(), "RetryAfter counts down")
		assert.Equal(t, "breaker: open (next probe in 1ms)", oe.Error())
		assert.False(t, call(b, nil))
		_ = b.Do(context.Background(), fail)
		require.ErrorAs(t, b.Do(context.Background(), fail), &oe)
		assert.Equal(t, time.Millisecond, oe.RetryAfter())

		// HalfOpen: a failed probe reopens, a good one closes.
		sleep(time.Millisecond)
		assert.Equal(t, breaker.HalfOpen, b.State())
		assert.True(t, call(b, errBoom))
		assert.Equal(t, breaker.Open, b.State())
		sleep(time.Second)
		assert.True(t, call(b, nil))
		assert.Equal(t, breaker.Closed, b.State())
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Rejected: 4}, gauges(b.Stats()))
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}, rec.transitions())
	})
}

func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New()
		calls(b, repeat(4, errBoom)...)
		assert.Equal(t, breaker.Closed, b.State())
		calls(b, errBoom)
		assert.Equal(t, breaker.Open, b.State())
		sleep(time.Minute - 2*time.Nanosecond)
		assert.Equal(t, breaker.Open, b.State())
		sleep(time.Nanosecond) // the timer ends Open 1ns early: see OpenFor
		assert.Equal(t, breaker.HalfOpen, b.State())
	})
}

func TestFailureRateWindow(t *testing.T) {
	tests := []struct {
		name     string
		opts     []breaker.RateOption
		errs     []error
		want     breaker.State
		wantRate [2]int // calls, failures afterwards
	}{
		{"below min calls", []breaker.RateOption{breaker.Window(10), breaker.MinCalls(5)}, repeat(4, errBoom), breaker.Closed, [2]int{4, 4}},
		{"at min calls", []breaker.RateOption{breaker.Window(10), breaker.MinCalls(5)}, repeat(5, errBoom), breaker.Open, [2]int{5, 5}},
		{"below ratio", []breaker.RateOption{breaker.Window(4), breaker.MinCalls(4)}, []error{errBoom, nil, nil, nil, errBoom}, breaker.Closed, [2]int{4, 1}},
		{"at ratio", []breaker.RateOption{breaker.Window(4), breaker.MinCalls(4)}, []error{nil, nil, errBoom, errBoom}, breaker.Open, [2]int{4, 2}},
		{"old failures slide out", []breaker.RateOption{breaker.Window(4), breaker.MinCalls(1)}, []error{nil, nil, nil, errBoom, nil, nil, nil, nil, nil, nil, nil}, breaker.Closed, [2]int{4, 0}},
		{"ignored calls not counted", []breaker.RateOption{breaker.Window(4), breaker.MinCalls(2)}, []error{context.Canceled, nil, context.Canceled, errBoom}, breaker.Open, [2]int{2, 1}},
		{"default window and min", nil, append(repeat(10, nil), repeat(9, errBoom)...), breaker.Closed, [2]int{19, 9}},
		{"default min is 20", nil, append(repeat(10, nil), repeat(10, errBoom)...), breaker.Open, [2]int{20, 10}},
		{"default min capped by window", []breaker.RateOption{breaker.Window(3)}, repeat(2, errBoom), breaker.Closed, [2]int{2, 2}},
		{"time window", []breaker.RateOption{breaker.TimeWindow(time.Second, 10), breaker.MinCalls(3)}, []error{nil, errBoom, errBoom}, breaker.Open, [2]int{3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := breaker.New(breaker.FailureRate(0.5, tt.opts...))
				calls(b, tt.errs...)
				s := b.Stats()
				assert.Equal(t, tt.want, s.State)
				assert.Equal(t, tt.wantRate, [2]int{s.Calls, s.Failures})
			})
		})
	}
}

func TestTimeWindowRollover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Buckets of 100ms; the window is the current one and 9 before it.
		b := breaker.New(breaker.FailureRate(0.5, breaker.TimeWindow(time.Second, 10), breaker.MinCalls(4)))
		calls(b, errBoom, errBoom, nil) // bucket 0
		time.Sleep(500 * time.Millisecond)
		calls(b, nil, nil, nil) // bucket 5
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: 6, Failures: 2}, gauges(b.Stats()))
		time.Sleep(499 * time.Millisecond) // still bucket 9
		assert.Equal(t, 6, b.Stats().Calls)
		time.Sleep(time.Millisecond) // bucket 10: bucket 0 has left
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: 3}, gauges(b.Stats()))
		calls(b, errBoom, errBoom) // 2 of 5
		assert.Equal(t, breaker.Closed, b.State())
		calls(b, errBoom) // 3 of 6
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestTimeWindowClearedOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.FailureRate(0.5, breaker.TimeWindow(time.Minute, 6), breaker.MinCalls(2)), breaker.OpenFor(time.Second))
		calls(b, nil, nil, nil, errBoom, errBoom, errBoom)
		assert.Equal(t, breaker.Open, b.State())
		sleep(time.Second)
		assert.True(t, call(b, nil))
		assert.Equal(t, breaker.Stats{State: breaker.Closed}, gauges(b.Stats()))
		calls(b, nil, errBoom) // 1 of 2: trips only if the old window were kept
		assert.Equal(t, breaker.Open, b.State())
		b.Reset()
		calls(b, nil, nil, errBoom)
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: 3, Failures: 1, ConsecutiveFailures: 1}, gauges(b.Stats()))
	})
}

func TestConsecutiveDoesNotDecay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(3), breaker.FailureRate(1, breaker.TimeWindow(time.Second, 2), breaker.MinCalls(10)))
		calls(b, errBoom, errBoom)
		time.Sleep(time.Hour) // the time window forgets them; the run does not
		calls(b, errBoom)
		assert.Equal(t, breaker.Open, b.State())
	})
}

func TestSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.SlowCalls(time.Second, 0.5, breaker.Window(4), breaker.MinCalls(4)), breaker.OpenFor(time.Minute), breaker.HalfOpenProbes(2))
		slowCall(b, time.Second, nil) // at the threshold: not slow
		slowCall(b, 2*time.Second, nil)
		slowCall(b, 0, nil)
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: 3, Slow: 1}, gauges(b.Stats()))
		slowCall(b, 2*time.Second, errBoom) // slow failures are slow too
		assert.Equal(t, breaker.Open, b.State())

		// Probes: one slow of two is at the ratio, so the breaker reopens.
		sleep(time.Minute)
		var wg sync.WaitGroup
		wg.Go(func() { slowCall(b, 2*time.Second, nil) })
		wg.Go(func() { slowCall(b, 0, nil) })
		wg.Wait()
		assert.Equal(t, breaker.Open, b.State())
		sleep(time.Minute)
		slowCall(b, 0, nil)
		slowCall(b, 0, nil)
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestSlowAndFailureRateShareWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(
			breaker.FailureRate(0.75, breaker.Window(4), breaker.MinCalls(4)),
			breaker.SlowCalls(time.Second, 0.5, breaker.MinCalls(2)),
		)
		slowCall(b, 0, errBoom)
		slowCall(b, 2*time.Second, nil)
		assert.Equal(t, breaker.Open, b.State()) // 1 slow of 2
	})
}

func TestOpenBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second), breaker.OpenBackoff(5*time.Second), rec.option())
		wait := func() time.Duration {
			var oe *breaker.OpenError
			require.ErrorAs(t, b.Do(context.Background(), fail), &oe)
			return oe.RetryAfter()
		}
		call(b, errBoom)
		var got []time.Duration
		for range 5 {
			d := wait()
			got = append(got, d)
			sleep(d)
			assert.True(t, call(b, errBoom)) // the probe fails: reopen
		}
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
		sleep(wait())
		call(b, nil) // closing resets the backoff
		call(b, errBoom)
		assert.Equal(t, time.Second, wait())
	})
}

func TestHalfOpenProbesConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const probes = 3
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second), breaker.HalfOpenProbes(probes))
		call(b, errBoom)
		sleep(time.Second)

		release := make(chan struct{})
		var running, rejected atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				err := b.Do(context.Background(), func(context.Context) error {
					running.Add(1)
					<-release
					return nil
				})
				if err != nil {
					var oe *breaker.OpenError
					if assert.ErrorAs(t, err, &oe) {
						assert.Equal(t, breaker.HalfOpen, oe.State())
					}
					rejected.Add(1)
				}
			})
		}
		synctest.Wait()
		assert.EqualValues(t, probes, running.Load())
		assert.EqualValues(t, 20-probes, rejected.Load())
		assert.Equal(t, breaker.HalfOpen, b.State())
		close(release)
		wg.Wait()
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestHalfOpenIgnoredProbeGivesSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second), breaker.HalfOpenProbes(2))
		call(b, errBoom)
		sleep(time.Second)
		done1, err := b.Allow()
		require.NoError(t, err)
		done2, err := b.Allow()
		require.NoError(t, err)
		_, err = b.Allow()
		require.ErrorIs(t, err, breaker.ErrOpen)
		done1(context.Canceled)
		done1(errBoom) // counted once: the first call decided it
		done3, err := b.Allow()
		require.NoError(t, err, "the ignored probe's slot was given back")
		done2(nil)
		assert.Equal(t, breaker.HalfOpen, b.State())
		done3(nil)
		assert.Equal(t, breaker.Closed, b.State())
	})
}

func TestCanceledNotCounted(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Do(ctx, func(ctx context.Context) error { return fmt.Errorf("wrapped: %w", ctx.Err()) })
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, breaker.Closed, b.State())
	call(b, context.DeadlineExceeded) // a timeout is a failure
	assert.Equal(t, breaker.Open, b.State())
}

func TestClassify(t *testing.T) {
	errNotFound := errors.New("not found")
	tests := []struct {
		name string
		opt  breaker.Option
		errs []error
		want breaker.State
	}{
		{"classify ignore", breaker.Classify(func(err error) breaker.Outcome {
			if errors.Is(err, errNotFound) {
				return breaker.Ignore
			}
			if err != nil {
				return breaker.Failure
			}
			return breaker.Success
		}), []error{errBoom, errNotFound, errBoom}, breaker.Open},
		{"classify success", breaker.Classify(func(err error) breaker.Outcome {
			if errors.Is(err, errNotFound) {
				return breaker.Success
			}
			return breaker.Failure
		}), []error{errBoom, errNotFound, errBoom}, breaker.Closed},
		{"classify nil as failure", breaker.Classify(func(error) breaker.Outcome { return breaker.Failure }), []error{nil, nil}, breaker.Open},
		{"is failure", breaker.IsFailure(func(err error) bool { return !errors.Is(err, errNotFound) }), []error{errBoom, errNotFound, errBoom}, breaker.Closed},
		{"is failure ignores canceled", breaker.IsFailure(func(error) bool { return true }), []error{errBoom, context.Canceled, errBoom}, breaker.Open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := breaker.New(breaker.ConsecutiveFailures(2), tt.opt)
			calls(b, tt.errs...)
			assert.Equal(t, tt.want, b.State())
		})
	}
}

func TestPanicCountedAndRepanicked(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(2))
	for range 2 {
		assert.PanicsWithValue(t, "kaboom", func() {
			_ = b.Do(context.Background(), func(context.Context) error { panic("kaboom") })
		})
	}
	assert.Equal(t, breaker.Open, b.State())

	b = breaker.New(breaker.ConsecutiveFailures(1))
	assert.PanicsWithError(t, errBoom.Error(), func() {
		_, _ = breaker.Get(context.Background(), b, func(context.Context) (int, error) { panic(errBoom) })
	})
	assert.Equal(t, breaker.Open, b.State())
}

func TestGet(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	v, err := breaker.Get(context.Background(), b, func(context.Context) (int, error) { return 42, nil })
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	v, err = breaker.Get(context.Background(), b, func(context.Context) (int, error) { return 7, errBoom })
	assert.ErrorIs(t, err, errBoom)
	assert.Equal(t, 7, v)
	v, err = breaker.Get(context.Background(), b, func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, breaker.ErrOpen)
	assert.Zero(t, v)
}

func TestAllowDoneOnce(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(2))
	done, err := b.Allow()
	require.NoError(t, err)
	done(errBoom)
	done(errBoom)
	done(errBoom)
	assert.Equal(t, breaker.Stats{State: breaker.Closed, ConsecutiveFailures: 1}, gauges(b.Stats()))
}

func TestLateResultDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		late, err := b.Allow() // admitted while closed
		require.NoError(t, err)
		call(b, errBoom)
		sleep(time.Second)
		assert.True(t, call(b, nil))
		assert.Equal(t, breaker.Closed, b.State())
		late(errBoom) // belongs to the first closed generation: dropped
		assert.Equal(t, breaker.Closed, b.State())

		// A late probe result after Reset is dropped too.
		call(b, errBoom)
		sleep(time.Second)
		probe, err := b.Allow()
		require.NoError(t, err)
		b.Reset()
		probe(errBoom)
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Rejected: 0}, gauges(b.Stats()))
	})
}

func TestForceOpenAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.OpenFor(time.Second), rec.option())
		b.Stats() // count rejections from here
		b.ForceOpen()
		sleep(time.Hour)
		var oe *breaker.OpenError
		require.ErrorAs(t, b.Do(context.Background(), fail), &oe)
		assert.Equal(t, breaker.Open, oe.State())
		assert.Equal(t, time.Second, oe.RetryAfter(), "a forced open suggests OpenFor")
		assert.Equal(t, breaker.Open, b.State())
		b.Reset()
		assert.True(t, call(b, nil))
		b.Reset() // already closed: no transition
		assert.Equal(t, []string{"closed>open", "open>closed"}, rec.transitions())
		assert.Equal(t, uint64(1), b.Stats().Rejected)
	})
}

func TestOpenErrorMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(300*time.Millisecond))
		call(b, errBoom)
		tests := []struct {
			sleep time.Duration
			want  string
		}{
			{58_741 * time.Nanosecond, "breaker: open (next probe in 300ms)"}, // 299.941259ms, rounded up
			{941_259 * time.Nanosecond, "breaker: open (next probe in 299ms)"},
			{299*time.Millisecond - 2, "breaker: open (next probe in 1ms)"}, // 2ns: the timer ends Open 1ns early
		}
		for _, tt := range tests {
			time.Sleep(tt.sleep)
			assert.EqualError(t, b.Do(context.Background(), ok), tt.want)
		}
	})
	b := breaker.New()
	b.ForceOpen()
	assert.EqualError(t, b.Do(context.Background(), ok), "breaker: open (held open until Reset)")
	assert.NotErrorIs(t, b.Do(context.Background(), ok), errBoom)

	b = breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(0))
	call(b, errBoom)
	require.Equal(t, breaker.HalfOpen, b.State())
	done, err := b.Allow() // the probe
	require.NoError(t, err)
	var oe *breaker.OpenError
	require.ErrorAs(t, b.Do(context.Background(), ok), &oe)
	assert.Equal(t, "breaker: open (half-open, every probe slot taken)", oe.Error())
	assert.Equal(t, breaker.HalfOpen, oe.State())
	assert.Zero(t, oe.RetryAfter())
	done(nil)
}

// TestOnStateChangeReentrant checks that the callback may call back into
// the breaker, even to cause a transition, without deadlock, and that
// transitions are still delivered once each, in order.
func TestOnStateChangeReentrant(t *testing.T) {
	var got []string
	var b *breaker.Breaker
	b = breaker.New(breaker.ConsecutiveFailures(1), breaker.OnStateChange(func(from, to breaker.State) {
		got = append(got, from.String()+">"+to.String())
		_ = b.Stats()
		if to == breaker.Open {
			b.Reset()
		}
	}))
	call(b, errBoom)
	assert.Equal(t, []string{"closed>open", "open>closed"}, got)
	assert.Equal(t, breaker.Closed, b.State())
}

// TestOnStateChangeConcurrent hammers a breaker from many goroutines and
// checks that the callback saw a gap-free chain of transitions (each from
// is the previous to), and that every transition was seen exactly once.
func TestOnStateChangeConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu     sync.Mutex
			chain  []breaker.State
			active atomic.Int32
		)
		chain = append(chain, breaker.Closed)
		b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Millisecond), breaker.HalfOpenProbes(2),
			breaker.OnStateChange(func(from, to breaker.State) {
				if active.Add(1) != 1 {
					t.Error("OnStateChange calls overlap")
				}
				defer active.Add(-1)
				mu.Lock()
				defer mu.Unlock()
				if last := chain[len(chain)-1]; last != from {
					t.Errorf("transition %v>%v after one to %v", from, to, last)
				}
				chain = append(chain, to)
			}))
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 300 {
					err := errBoom
					if (i+g)%3 == 0 {
						err = nil
					}
					_ = b.Do(context.Background(), func(context.Context) error { return err })
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		state := b.State() // before mu: State may deliver a transition itself
		mu.Lock()
		defer mu.Unlock()
		assert.Greater(t, len(chain), 10, "too few transitions to test anything")
		assert.Equal(t, state, chain[len(chain)-1], "the last transition delivered is to the current state")
	})
}

// TestConcurrentCounting checks that the lock-free and locked halves of each
// window together count every call made from many goroutines at once.
func TestConcurrentCounting(t *testing.T) {
	tests := []struct {
		name string
		win  breaker.RateOption
	}{
		{"window", breaker.Window(5000)},
		{"time window", breaker.TimeWindow(time.Minute, 6)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const goroutines, each = 16, 100
				b := breaker.New(breaker.FailureRate(1, tt.win), breaker.SlowCalls(time.Second, 1, tt.win))
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := range each {
							switch {
							case i%10 == g%10:
								call(b, errBoom)
							case i%10 == (g+1)%10:
								slowCall(b, 2*time.Second, nil)
							case i%10 == (g+2)%10:
								call(b, context.Canceled)
							default:
								call(b, nil)
							}
						}
					})
				}
				wg.Wait()
				s := b.Stats()
				assert.Equal(t, breaker.Stats{State: breaker.Closed, Calls: goroutines * each * 9 / 10, Failures: goroutines * each / 10, Slow: goroutines * each / 10, ConsecutiveFailures: s.ConsecutiveFailures}, gauges(s))
			})
		})
	}
}

// TestZeroAllocs checks the paths that must not allocate: a closed call in
// every configuration, and a rejected one.
func TestZeroAllocs(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts []breaker.Option
		open bool
	}{
		{"consecutive", nil, false},
		{"window", []breaker.Option{breaker.FailureRate(0.5, breaker.Window(100))}, false},
		{"time window", []breaker.Option{breaker.FailureRate(0.5, breaker.TimeWindow(time.Minute, 10))}, false},
		{"slow calls", []breaker.Option{breaker.SlowCalls(time.Minute, 0.5)}, false},
		{"open", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := breaker.New(append(tt.opts, breaker.OpenFor(time.Hour))...)
			if tt.open {
				calls(b, repeat(5, errBoom)...)
				require.Equal(t, breaker.Open, b.State())
			}
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = b.Do(ctx, ok) }), "Do")
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_, _ = breaker.Get(ctx, b, func(context.Context) (int, error) { return 1, nil })
			}), "Get")
		})
	}
	// The package doc says Allow allocates two small objects: its done
	// function and the flag that makes done count once.
	b := breaker.New()
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() {
		done, _ := b.Allow()
		done(nil)
	}), 2.0, "Allow")
}

// TestSleepOpenForThenProbe guards the timer that ends an Open period one
// nanosecond early: a caller that sleeps exactly OpenFor after a rejection,
// with no synctest.Wait, must be let through as a probe, every time.
func TestSleepOpenForThenProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		for range 50 {
			call(b, errBoom)
			err := b.Do(context.Background(), func(context.Context) error { return nil })
			var oe *breaker.OpenError
			require.ErrorAs(t, err, &oe)
			require.Equal(t, time.Second, oe.RetryAfter())
			time.Sleep(time.Second) // no synctest.Wait, no State, no RetryAfter
			ran := false
			require.NoError(t, b.Do(context.Background(), func(context.Context) error { ran = true; return nil }))
			require.True(t, ran, "the call after OpenFor must be a probe")
			require.Equal(t, breaker.Closed, b.State())
		}
	})
}

// TestRetryAfterEndsLateOpen checks that an OpenError whose probe time has
// come reports zero and makes the breaker HalfOpen, as a timer that fired
// late would not yet have done.
func TestRetryAfterEndsLateOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Second))
		call(b, errBoom)
		var oe *breaker.OpenError
		require.ErrorAs(t, b.Do(context.Background(), ok), &oe)
		time.Sleep(time.Second)
		assert.Zero(t, oe.RetryAfter())
		assert.Equal(t, breaker.HalfOpen, b.State())
	})
}
