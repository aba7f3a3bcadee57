package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/retry"
)

var (
	errBoom  = errors.New("boom")
	errFatal = errors.New("fatal")
)

// failing returns a fn that fails n times with errBoom and then succeeds,
// counting its calls.
func failing(n int, calls *int) func(context.Context) error {
	return func(context.Context) error {
		*calls++
		if *calls <= n {
			return errBoom
		}
		return nil
	}
}

var nilCtx context.Context

func ok(context.Context) error { return nil }

func okInt(context.Context) (int, error) { return 1, nil }

func TestNewPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		msg  string
	}{
		{"Attempts(0)", func() { retry.Attempts(0) }, "retry: Attempts(0): n must be at least 1"},
		{"Attempts(-1)", func() { retry.Attempts(-1) }, "retry: Attempts(-1): n must be at least 1"},
		{"MaxElapsed", func() { retry.MaxElapsed(-time.Second) }, "retry: MaxElapsed(-1s): d must not be negative"},
		{"Constant", func() { retry.Constant(-1) }, "retry: Constant(-1ns): d must not be negative"},
		{"Exponential negative", func() { retry.Exponential(-1, time.Second) }, "retry: Exponential(-1ns, 1s): initial must not be negative"},
		{"Exponential initial>max", func() { retry.Exponential(2*time.Second, time.Second) }, "retry: Exponential(2s, 1s): initial must not exceed max"},
		{"Multiplier<1", func() { retry.Multiplier(0.5) }, "retry: Multiplier(0.5): f must be a finite number of at least 1"},
		{"Multiplier NaN", func() { retry.Multiplier(math.NaN()) }, "retry: Multiplier(NaN): f must be a finite number of at least 1"},
		{"Multiplier Inf", func() { retry.Multiplier(math.Inf(1)) }, "retry: Multiplier(+Inf): f must be a finite number of at least 1"},
		{"If", func() { retry.If(nil) }, "retry: If(nil): retryable must not be nil"},
		{"OnRetry", func() { retry.OnRetry(nil) }, "retry: OnRetry(nil): fn must not be nil"},
		{"WithBudget", func() { retry.WithBudget(nil) }, "retry: WithBudget(nil): b must not be nil"},
		{"Rand", func() { retry.Rand(nil) }, "retry: Rand(nil): src must not be nil"},
		{"NewBudget ratio 0", func() { retry.NewBudget(0, 1) }, "retry: NewBudget(0, 1): ratio must be in (0, 1]"},
		{"NewBudget ratio>1", func() { retry.NewBudget(1.5, 1) }, "retry: NewBudget(1.5, 1): ratio must be in (0, 1]"},
		{"NewBudget ratio NaN", func() { retry.NewBudget(math.NaN(), 1) }, "retry: NewBudget(NaN, 1): ratio must be in (0, 1]"},
		{"NewBudget floor", func() { retry.NewBudget(0.1, -1) }, "retry: NewBudget(0.1, -1): minPerSecond must not be negative"},
		{"Do nil fn", func() { _ = retry.New().Do(context.Background(), nil) }, "retry: nil function"},
		{"Do nil ctx", func() { _ = retry.New().Do(nilCtx, ok) }, "retry: nil context"},
		{"Get nil fn", func() { _, _ = retry.Get[int](context.Background(), retry.New(), nil) }, "retry: nil function"},
		{"Get nil policy", func() { _, _ = retry.Get(context.Background(), nil, okInt) }, "retry: nil Policy"},
		{"Get nil ctx", func() { _, _ = retry.Get(nilCtx, retry.New(), okInt) }, "retry: nil context"},
		{"Transport nil policy", func() { retry.Transport(nil, nil) }, "retry: Transport(base, nil): p must not be nil"},
		{"Idempotent", func() { retry.Idempotent(nil) }, "retry: Idempotent(nil): fn must not be nil"},
		{"RetryResponse", func() { retry.RetryResponse(nil) }, "retry: RetryResponse(nil): fn must not be nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.msg, tt.fn)
		})
	}
}

func TestDelaysNoJitter(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		opts []retry.Option
		want []time.Duration
	}{
		{"constant", []retry.Option{retry.Attempts(4), retry.Constant(10 * ms)}, []time.Duration{10 * ms, 10 * ms, 10 * ms}},
		{"constant zero", []retry.Option{retry.Attempts(3), retry.Constant(0)}, []time.Duration{0, 0}},
		{"one attempt", []retry.Option{retry.Attempts(1)}, nil},
		{"exponential", []retry.Option{retry.Attempts(7), retry.Exponential(100*ms, time.Second), retry.NoJitter()},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"multiplier", []retry.Option{retry.Attempts(5), retry.Exponential(ms, time.Second), retry.Multiplier(10), retry.NoJitter()},
			[]time.Duration{ms, 10 * ms, 100 * ms, time.Second}},
		{"multiplier before exponential", []retry.Option{retry.Attempts(4), retry.Multiplier(3), retry.Exponential(ms, time.Second), retry.NoJitter()},
			[]time.Duration{ms, 3 * ms, 9 * ms}},
		{"multiplier ignored by constant", []retry.Option{retry.Attempts(3), retry.Multiplier(3), retry.Constant(ms)},
			[]time.Duration{ms, ms}},
		{"default attempts", []retry.Option{retry.Exponential(ms, time.Second), retry.NoJitter()},
			[]time.Duration{ms, 2 * ms, 4 * ms}},
		{"zero exponential", []retry.Option{retry.Attempts(3), retry.Exponential(0, 0)}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slices.Collect(retry.New(tt.opts...).Delays()))
		})
	}
}

// TestDoExactDelays checks that Do sleeps exactly the NoJitter schedule and
// returns an *Error when the attempts run out.
func TestDoExactDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Attempts(5), retry.Exponential(time.Second, 4*time.Second), retry.NoJitter())
		start := time.Now()
		var at []time.Duration
		err := p.Do(t.Context(), func(context.Context) error {
			at = append(at, time.Since(start))
			return fmt.Errorf("try %d: %w", len(at), errBoom)
		})
		s := time.Second
		assert.Equal(t, []time.Duration{0, s, 3 * s, 7 * s, 11 * s}, at)
		assert.Equal(t, 11*s, time.Since(start), "no sleep after the last try")
		require.ErrorIs(t, err, retry.ErrExhausted)
		require.ErrorIs(t, err, errBoom)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 5, re.Attempts)
		assert.Len(t, re.Errors, 5)
		assert.EqualError(t, re.Last, "try 5: boom")
		assert.EqualError(t, err, "retry: 5 attempts failed, last: try 5: boom")
	})
}

// TestJitterBounds runs Do under synctest and checks that every sleep equals
// the delay announced to OnRetry and lies within its jitter's bounds, and
// that the delays are spread over those bounds.
func TestJitterBounds(t *testing.T) {
	const (
		initial = 10 * time.Millisecond
		maxD    = 500 * time.Millisecond
		tries   = 10
		calls   = 300
	)
	base := func(n int) time.Duration { return min(maxD, initial<<n) }
	tests := []struct {
		name   string
		jitter retry.Option
		lo, hi func(n int, prev time.Duration) time.Duration // bounds of delay n (0-based)
	}{
		{"full", retry.FullJitter(),
			func(int, time.Duration) time.Duration { return 0 },
			func(n int, _ time.Duration) time.Duration { return base(n) }},
		{"equal", retry.EqualJitter(),
			func(n int, _ time.Duration) time.Duration { return base(n) / 2 },
			func(n int, _ time.Duration) time.Duration { return base(n) }},
		{"decorrelated", retry.DecorrelatedJitter(),
			func(int, time.Duration) time.Duration { return initial },
			func(_ int, prev time.Duration) time.Duration { return min(maxD, 3*prev) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var delays []time.Duration
				p := retry.New(retry.Attempts(tries), retry.Exponential(initial, maxD), tt.jitter,
					retry.Rand(rand.NewPCG(1, 2)),
					retry.OnRetry(func(e retry.Event) { delays = append(delays, e.Delay) }))
				var lowest, highest = 1.0, 0.0 // extremes of (d-lo)/(hi-lo) at the cap
				for range calls {
					delays = delays[:0]
					var at []time.Time
					_ = p.Do(t.Context(), func(context.Context) error {
						at = append(at, time.Now())
						return errBoom
					})
					require.Len(t, delays, tries-1)
					prev := initial
					for n, d := range delays {
						require.Equal(t, d, at[n+1].Sub(at[n]), "slept the announced delay")
						lo, hi := tt.lo(n, prev), tt.hi(n, prev)
						require.GreaterOrEqual(t, d, lo, "delay %d", n)
						require.LessOrEqual(t, d, hi, "delay %d", n)
						if n == tries-2 && hi > lo {
							f := float64(d-lo) / float64(hi-lo)
							lowest, highest = min(lowest, f), max(highest, f)
						}
						prev = d
					}
				}
				assert.Less(t, lowest, 0.05, "delays reach the low end")
				assert.Greater(t, highest, 0.95, "delays reach the high end")
			})
		})
	}
}

func TestRandReproducible(t *testing.T) {
	for _, j := range []retry.Option{retry.FullJitter(), retry.EqualJitter(), retry.DecorrelatedJitter()} {
		a := retry.New(retry.Attempts(20), j, retry.Rand(rand.NewPCG(7, 8)))
		b := retry.New(retry.Attempts(20), j, retry.Rand(rand.NewPCG(7, 8)))
		c := retry.New(retry.Attempts(20), j, retry.Rand(rand.NewPCG(9, 9)))
		da := slices.Collect(a.Delays())
		assert.Equal(t, da, slices.Collect(b.Delays()))
		assert.NotEqual(t, da, slices.Collect(c.Delays()))
	}
}

// TestOverflow checks that 1000 tries of steep exponential backoff never
// exceed max and never go negative, for every jitter.
func TestOverflow(t *testing.T) {
	const maxD = time.Duration(math.MaxInt64)
	for _, j := range []retry.Option{retry.NoJitter(), retry.FullJitter(), retry.EqualJitter(), retry.DecorrelatedJitter()} {
		for _, m := range []float64{1.5, 2, 10, 1e300} {
			p := retry.New(retry.Attempts(1000), retry.Exponential(time.Nanosecond, maxD), retry.Multiplier(m), j)
			n := 0
			for d := range p.Delays() {
				require.GreaterOrEqual(t, d, time.Duration(0))
				require.LessOrEqual(t, d, maxD)
				n++
			}
			require.Equal(t, 999, n)
		}
	}
	p := retry.New(retry.Attempts(1000), retry.Exponential(time.Nanosecond, time.Hour), retry.NoJitter())
	last := slices.Collect(p.Delays())[998]
	assert.Equal(t, time.Hour, last, "NoJitter reaches max and stays there")
}

func TestPermanent(t *testing.T) {
	assert.NoError(t, retry.Permanent(nil))
	tests := []struct {
		name string
		ret  error
		want string
	}{
		{"direct", retry.Permanent(errFatal), "fatal"},
		{"wrapped", fmt.Errorf("open: %w", retry.Permanent(errFatal)), "open: fatal"},
		{"joined", errors.Join(errBoom, retry.Permanent(errFatal)), "boom\nfatal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := retry.New(retry.Constant(0)).Do(context.Background(), func(context.Context) error {
				calls++
				if calls == 1 {
					return errBoom
				}
				return tt.ret
			})
			assert.Equal(t, 2, calls)
			require.ErrorIs(t, err, errFatal)
			assert.EqualError(t, err, tt.want)
			var re *retry.Error
			assert.False(t, errors.As(err, &re), "a permanent error is returned as is")
		})
	}
	err := retry.New().Do(context.Background(), func(context.Context) error { return retry.Permanent(errFatal) })
	assert.Same(t, errFatal, err, "a direct marker is removed")
}

func TestAfter(t *testing.T) {
	assert.NoError(t, retry.After(time.Second, nil))
	s := time.Second
	tests := []struct {
		name    string
		opts    []retry.Option
		timeout time.Duration // ctx timeout, 0 for none
		after   time.Duration
		wrap    bool
		tries   int
		elapsed time.Duration
		ok      bool
	}{
		{"honoured", nil, 0, 5 * s, false, 2, 5 * s, true},
		{"wrapped", nil, 0, 5 * s, true, 2, 5 * s, true},
		{"longer than max", nil, 0, time.Hour, false, 2, time.Hour, true},
		{"capped", []retry.Option{retry.CapAfter()}, 0, 5 * s, false, 2, s, true},
		{"negative", nil, 0, -5 * s, false, 2, 0, true},
		{"past deadline", nil, 3 * s, 5 * s, false, 1, 0, false},
		{"past MaxElapsed", []retry.Option{retry.MaxElapsed(3 * s)}, 0, 5 * s, false, 1, 0, false},
		{"within deadline", nil, 6 * s, 5 * s, false, 2, 5 * s, true},
		{"huge past deadline", nil, 3 * s, math.MaxInt64, false, 1, 0, false},
		{"huge past MaxElapsed", []retry.Option{retry.MaxElapsed(3 * s)}, 0, math.MaxInt64, false, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				p := retry.New(append([]retry.Option{retry.Constant(s)}, tt.opts...)...)
				start, tries := time.Now(), 0
				err := p.Do(ctx, func(context.Context) error {
					tries++
					if tries > 1 {
						return nil
					}
					err := retry.After(tt.after, errBoom)
					if tt.wrap {
						err = fmt.Errorf("call: %w", err)
					}
					return err
				})
				assert.Equal(t, tt.tries, tries)
				assert.Equal(t, tt.elapsed, time.Since(start))
				if tt.ok {
					require.NoError(t, err)
					return
				}
				require.ErrorIs(t, err, retry.ErrExhausted)
				require.ErrorIs(t, err, errBoom)
				assert.NotErrorIs(t, err, context.DeadlineExceeded)
				var re *retry.Error
				require.ErrorAs(t, err, &re)
				assert.Same(t, errBoom, re.Last, "the After marker is removed")
			})
		})
	}
}

func TestIf(t *testing.T) {
	p := retry.New(retry.Attempts(5), retry.Constant(0), retry.If(func(err error) bool { return !errors.Is(err, errFatal) }))
	calls := 0
	err := p.Do(context.Background(), func(context.Context) error {
		calls++
		if calls == 3 {
			return fmt.Errorf("third: %w", errFatal)
		}
		return errBoom
	})
	assert.Equal(t, 3, calls)
	assert.EqualError(t, err, "third: fatal", "a rejected error is returned as is")

	calls = 0
	err = p.Do(context.Background(), failing(10, &calls))
	assert.Equal(t, 5, calls)
	assert.ErrorIs(t, err, retry.ErrExhausted)

	// If does not override Permanent.
	p = retry.New(retry.Constant(0), retry.If(func(error) bool { return true }))
	calls = 0
	err = p.Do(context.Background(), func(context.Context) error { calls++; return retry.Permanent(errFatal) })
	assert.Equal(t, 1, calls)
	assert.Same(t, errFatal, err)
}

func TestOnRetry(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		attempts []int
	}{
		{"first try succeeds", 0, nil},
		{"third try succeeds", 2, []int{1, 2}},
		{"all fail", 10, []int{1, 2, 3}}, // never after the 4th and last try
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got []int
				p := retry.New(retry.Attempts(4), retry.Exponential(time.Second, time.Minute), retry.NoJitter(),
					retry.OnRetry(func(e retry.Event) {
						got = append(got, e.Attempt)
						assert.Equal(t, time.Second<<(e.Attempt-1), e.Delay)
						assert.Same(t, errBoom, e.Err)
					}))
				calls := 0
				_ = p.Do(t.Context(), failing(tt.failures, &calls))
				assert.Equal(t, tt.attempts, got)
			})
		})
	}
}

func TestMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Attempts(100), retry.Constant(time.Second), retry.MaxElapsed(3500*time.Millisecond))
		start, calls := time.Now(), 0
		err := p.Do(t.Context(), func(context.Context) error {
			calls++
			time.Sleep(100 * time.Millisecond) // the tries' own time counts
			return errBoom
		})
		// Tries start at 0s, 1.1s, 2.2s and 3.3s; a fifth would start at
		// 4.4s, past 3.5s, so Do returns when the fourth ends.
		assert.Equal(t, 4, calls)
		assert.Equal(t, 3400*time.Millisecond, time.Since(start))
		require.ErrorIs(t, err, retry.ErrExhausted)
		require.ErrorIs(t, err, errBoom)
	})
}

// TestDeadlineAware checks that Do does not sleep into a deadline it cannot
// beat, and returns the last real error instead of the deadline.
func TestDeadlineAware(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		var events []int
		p := retry.New(retry.Attempts(10), retry.Constant(time.Second),
			retry.OnRetry(func(e retry.Event) { events = append(events, e.Attempt) }))
		start, calls := time.Now(), 0
		err := p.Do(ctx, failing(100, &calls))
		assert.Equal(t, 3, calls, "tries at 0s, 1s, 2s")
		assert.Equal(t, []int{1, 2}, events, "no OnRetry for the retry that will not happen")
		assert.Equal(t, 2*time.Second, time.Since(start), "no sleep past the deadline")
		require.ErrorIs(t, err, retry.ErrExhausted)
		require.ErrorIs(t, err, errBoom)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.NoError(t, ctx.Err())
	})
}

func TestCancel(t *testing.T) {
	errStop := errors.New("stop")
	t.Run("during sleep", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(1500*time.Millisecond, func() { cancel(errStop) })
			p := retry.New(retry.Attempts(10), retry.Constant(time.Minute))
			start, calls := time.Now(), 0
			err := p.Do(ctx, failing(100, &calls))
			assert.Equal(t, 1, calls)
			assert.Equal(t, 1500*time.Millisecond, time.Since(start), "the sleep ends when ctx is done")
			require.ErrorIs(t, err, errStop)
			require.ErrorIs(t, err, context.Canceled)
			require.ErrorIs(t, err, errBoom)
			assert.NotErrorIs(t, err, retry.ErrExhausted)
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Same(t, errStop, re.Cause)
			assert.Equal(t, "retry: stop after 1 attempt, last: boom", err.Error())
		})
	})
	t.Run("during try", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := retry.New(retry.Constant(0)).Do(ctx, func(ctx context.Context) error {
			calls++
			cancel()
			return fmt.Errorf("try: %w", ctx.Err())
		})
		assert.Equal(t, 1, calls)
		require.ErrorIs(t, err, context.Canceled)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 1, re.Attempts)
		assert.EqualError(t, re.Last, "try: context canceled")
	})
	t.Run("deadline during try", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The try itself runs past the deadline, so Do reports it.
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			calls := 0
			err := retry.New(retry.Constant(time.Second)).Do(ctx, func(context.Context) error {
				calls++
				time.Sleep(2 * time.Second)
				return errBoom
			})
			assert.Equal(t, 1, calls)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorIs(t, err, errBoom)
		})
	})
}

func TestGet(t *testing.T) {
	p := retry.New(retry.Constant(0))
	calls := 0
	v, err := retry.Get(context.Background(), p, func(context.Context) (int, error) {
		calls++
		if calls < 3 {
			return -1, errBoom
		}
		return calls * 10, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 30, v)

	v, err = retry.Get(context.Background(), p, func(context.Context) (int, error) { return 7, errBoom })
	require.ErrorIs(t, err, retry.ErrExhausted)
	assert.Zero(t, v)

	v, err = retry.Get(context.Background(), p, func(context.Context) (int, error) { return 7, nil })
	require.NoError(t, err)
	assert.Equal(t, 7, v)
}

func TestErrorHistory(t *testing.T) {
	for _, n := range []int{1, 2, 7, 8, 9, 12, 20, 21} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var errs []error
			for i := range n {
				errs = append(errs, fmt.Errorf("try %d", i+1))
			}
			calls := 0
			err := retry.New(retry.Attempts(n), retry.Constant(0)).Do(context.Background(), func(context.Context) error {
				calls++
				return errs[calls-1]
			})
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, n, re.Attempts)
			want := errs
			if n > 8 {
				want = append(slices.Clip(errs[:4]), errs[n-4:]...)
			}
			assert.Equal(t, want, re.Errors)
			assert.Same(t, errs[n-1], re.Last)
			require.ErrorIs(t, err, errs[n-1])
		})
	}
}

func TestBudgetStorm(t *testing.T) {
	const (
		calls   = 10_000
		workers = 1000 // under the race detector's limit of live goroutines
		ratio   = 0.1
		floor   = 20
	)
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(ratio, floor)
		p := retry.New(retry.Attempts(4), retry.Constant(0), retry.WithBudget(b))
		var tries, refused, exhausted atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range workers {
			wg.Go(func() {
				<-start
				for range calls / workers {
					err := p.Do(t.Context(), func(context.Context) error { tries.Add(1); return errBoom })
					switch {
					case errors.Is(err, retry.ErrBudgetExhausted):
						refused.Add(1)
						assert.ErrorIs(t, err, errBoom)
					case errors.Is(err, retry.ErrExhausted):
						exhausted.Add(1)
					default:
						t.Errorf("unexpected error %v", err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		retries := tries.Load() - calls
		t.Logf("tries %d, retries %d, refused %d, exhausted %d", tries.Load(), retries, refused.Load(), exhausted.Load())
		assert.LessOrEqual(t, float64(tries.Load()), (1+ratio)*calls+floor)
		assert.Greater(t, retries, int64(floor), "the budget lets some retries through")
		assert.Greater(t, refused.Load(), int64(calls/2), "most calls are refused a retry")
	})
}

func TestBudgetFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(0.001, 2) // credit is negligible: the floor decides
		p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(b))
		retried := func() bool {
			calls := 0
			_ = p.Do(t.Context(), failing(100, &calls))
			return calls == 2
		}
		assert.True(t, retried())
		assert.True(t, retried())
		assert.False(t, retried(), "the floor's burst is spent")
		time.Sleep(500 * time.Millisecond)
		assert.True(t, retried(), "one retry per half second")
		assert.False(t, retried())
		time.Sleep(10 * time.Second)
		assert.True(t, retried())
		assert.True(t, retried())
		assert.False(t, retried(), "the burst does not grow while idle")
	})
}

func TestBudgetCredit(t *testing.T) {
	b := retry.NewBudget(0.5, 0)
	retries := 0
	p := retry.New(retry.Attempts(3), retry.Constant(0), retry.WithBudget(b),
		retry.OnRetry(func(retry.Event) { retries++ }))
	ok := func(context.Context) error { return nil }
	for range 4 {
		require.NoError(t, p.Do(context.Background(), ok))
	}
	assert.Equal(t, 2.0, b.Credit())
	calls := 0
	err := p.Do(context.Background(), failing(100, &calls)) // earns 0.5, spends 2
	assert.Equal(t, 3, calls)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 0.5, b.Credit())
	calls = 0
	err = p.Do(context.Background(), failing(100, &calls)) // earns 0.5, spends 1
	assert.Equal(t, 2, calls)
	assert.Equal(t, 3, retries, "OnRetry fires only for retries the budget allowed")
	assert.ErrorIs(t, err, retry.ErrBudgetExhausted)
	assert.EqualError(t, err, "retry: budget exhausted after 2 attempts, last: boom")

	for range 5000 {
		require.NoError(t, p.Do(context.Background(), ok))
	}
	assert.Equal(t, 500.0, b.Credit(), "credit is capped at 1000 first tries' worth")
}

func TestAllocs(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	b := retry.NewBudget(0.1, 10)
	tests := []struct {
		name   string
		p      *retry.Policy
		fn     func() func(context.Context) error
		allocs float64
	}{
		{"first try", retry.New(), func() func(context.Context) error { return ok }, 0},
		{"first try with budget and hooks", retry.New(retry.WithBudget(b), retry.OnRetry(func(retry.Event) {}), retry.MaxElapsed(time.Hour)),
			func() func(context.Context) error { return ok }, 0},
		{"4 tries zero delay", retry.New(retry.Constant(0)), func() func(context.Context) error {
			n := 0
			return func(context.Context) error {
				if n++; n < 4 {
					return errBoom
				}
				return nil
			}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fns := make([]func(context.Context) error, 0, 200)
			for range 200 {
				fns = append(fns, tt.fn())
			}
			i := 0
			got := testing.AllocsPerRun(100, func() {
				_ = tt.p.Do(ctx, fns[i])
				i++
			})
			assert.Equal(t, tt.allocs, got)
		})
	}
	t.Run("Get first try", func(t *testing.T) {
		p := retry.New()
		assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Get(ctx, p, okInt) }))
	})
	t.Run("Get 4 tries zero delay", func(t *testing.T) {
		p := retry.New(retry.Constant(0))
		n := 0
		get := func(context.Context) (int, error) {
			if n++; n%4 != 0 {
				return 0, errBoom
			}
			return n, nil
		}
		assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Get(ctx, p, get) }))
	})

	// A call that sleeps allocates one timer and reuses it for every delay;
	// a call whose delays are zero allocates none.
	calls := func(p *retry.Policy, tries int) float64 {
		return testing.AllocsPerRun(20, func() {
			n := 0
			_ = p.Do(ctx, func(context.Context) error {
				if n++; n < tries {
					return errBoom
				}
				return nil
			})
		})
	}
	zero := retry.New(retry.Attempts(8), retry.Constant(0))
	sleepy := retry.New(retry.Attempts(8), retry.Constant(time.Nanosecond))
	timer := testing.AllocsPerRun(20, func() {
		tm := time.NewTimer(time.Nanosecond)
		<-tm.C
		tm.Stop()
	})
	assert.Equal(t, calls(zero, 2), calls(zero, 8))
	assert.Equal(t, calls(zero, 2)+timer, calls(sleepy, 2))
	assert.Equal(t, calls(zero, 2)+timer, calls(sleepy, 8))
}

// TestEventAfter checks that OnRetry tells a delay asked for with After from
// one the policy computed, capped or not.
func TestEventAfter(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		opts []retry.Option
		want []retry.Event
	}{
		{"honoured", nil, []retry.Event{
			{Attempt: 1, Err: errBoom, Delay: 5 * s, After: true},
			{Attempt: 2, Err: errBoom, Delay: s},
		}},
		{"capped", []retry.Option{retry.CapAfter()}, []retry.Event{
			{Attempt: 1, Err: errBoom, Delay: s, After: true},
			{Attempt: 2, Err: errBoom, Delay: s},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var got []retry.Event
				opts := append([]retry.Option{retry.Constant(s), retry.OnRetry(func(e retry.Event) { got = append(got, e) })}, tt.opts...)
				tries := 0
				err := retry.New(opts...).Do(t.Context(), func(context.Context) error {
					switch tries++; tries {
					case 1:
						return retry.After(5*s, errBoom)
					case 2:
						return errBoom
					}
					return nil
				})
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			})
		})
	}
}

// TestIfSeesUnmarked checks that If is asked about the error given to After,
// not about the marker around it, as Event.Err and Error.Errors are.
func TestIfSeesUnmarked(t *testing.T) {
	var seen []error
	p := retry.New(retry.Constant(0), retry.If(func(err error) bool {
		seen = append(seen, err)
		return err == errBoom
	}))
	tries := 0
	err := p.Do(context.Background(), func(context.Context) error {
		if tries++; tries == 1 {
			return retry.After(0, errBoom)
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, tries)
	assert.Equal(t, []error{errBoom}, seen)
}

// TestBudgetMadeOutsideBubble checks that the floor of a Budget made before
// a synctest bubble started still admits retries inside it: the floor
// depends only on the time between withdrawals, not on when NewBudget ran.
func TestBudgetMadeOutsideBubble(t *testing.T) {
	b := retry.NewBudget(0.001, 1)
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(b))
		retried := func() bool {
			calls := 0
			_ = p.Do(t.Context(), failing(100, &calls))
			return calls == 2
		}
		assert.True(t, retried(), "the floor's burst")
		assert.False(t, retried())
		time.Sleep(time.Second)
		assert.True(t, retried(), "one retry per second")
	})
}
