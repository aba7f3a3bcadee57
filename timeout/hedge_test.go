package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/timeout"
)

// recorder is a fn for Hedge whose attempts behave as script says and which
// records what each attempt saw.
type recorder struct {
	start time.Time
	// script returns how attempt i ends: after taking d (or, when d < 0,
	// never) it returns i and err; if its context is done first, it returns
	// i and the context's error then.
	script func(i int) (d time.Duration, err error)

	mu       sync.Mutex
	starts   []time.Duration // when each attempt started, since start
	causes   []error         // context.Cause seen by each attempt when it ended, if done
	returned int             // attempts that have returned
	hedges   []int           // OnHedge's arguments
}

func newRecorder(script func(i int) (time.Duration, error)) *recorder {
	return &recorder{start: time.Now(), script: script}
}

func (r *recorder) fn(ctx context.Context) (int, error) {
	r.mu.Lock()
	i := len(r.starts)
	r.starts = append(r.starts, time.Since(r.start))
	r.causes = append(r.causes, nil)
	r.mu.Unlock()
	d, err := r.script(i)
	var after <-chan time.Time
	if d >= 0 {
		after = time.After(d)
	}
	select {
	case <-after:
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.causes[i] = context.Cause(ctx)
	r.returned++
	return i, err
}

func (r *recorder) onHedge(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hedges = append(r.hedges, n)
}

// snapshot returns how many attempts started and returned so far.
func (r *recorder) snapshot() (started, returned int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.starts), r.returned
}

const delay = 100 * time.Millisecond

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestHedge(t *testing.T) {
	errs := []error{errors.New("e0"), errors.New("e1"), errors.New("e2"), errors.New("e3")}
	never := func(int) (time.Duration, error) { return -1, nil }
	tests := []struct {
		name   string
		opts   []timeout.HedgeOption
		script func(i int) (time.Duration, error)
		// cancelAt cancels the caller's context then, when positive.
		cancelAt   time.Duration
		wantV      int
		wantErrs   []error // errors.Is must hold for each; nil means success
		wantAt     time.Duration
		wantStarts []time.Duration
		wantLost   int // attempts that must see the "another attempt succeeded" cause
	}{
		{
			name:       "fast first attempt starts no hedge",
			script:     func(int) (time.Duration, error) { return ms(10), nil },
			wantAt:     ms(10),
			wantStarts: []time.Duration{0},
		},
		{
			name:       "first attempt succeeds just before the delay",
			script:     func(int) (time.Duration, error) { return delay - 1, nil },
			wantAt:     delay - 1,
			wantStarts: []time.Duration{0},
		},
		{
			name:       "slow first: one hedge wins",
			script:     func(i int) (time.Duration, error) { return []time.Duration{-1, ms(10)}[i], nil },
			wantV:      1,
			wantAt:     delay + ms(10),
			wantStarts: []time.Duration{0, delay},
			wantLost:   1,
		},
		{
			name:       "slow first: first still wins",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(3)},
			script:     func(i int) (time.Duration, error) { return []time.Duration{ms(150), -1}[i], nil },
			wantV:      0,
			wantAt:     ms(150),
			wantStarts: []time.Duration{0, delay},
			wantLost:   1,
		},
		{
			name:       "three hedges at the right times, last wins",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(3)},
			script:     func(i int) (time.Duration, error) { return []time.Duration{-1, -1, -1, ms(10)}[i], nil },
			wantV:      3,
			wantAt:     3*delay + ms(10),
			wantStarts: []time.Duration{0, delay, 2 * delay, 3 * delay},
			wantLost:   3,
		},
		{
			name:       "no hedges",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(0)},
			script:     func(int) (time.Duration, error) { return 2 * delay, errs[0] },
			wantErrs:   []error{errs[0]},
			wantAt:     2 * delay,
			wantStarts: []time.Duration{0},
		},
		{
			name:       "a failure waits for the delay",
			script:     func(i int) (time.Duration, error) { return ms(10), []error{errs[0], nil}[i] },
			wantV:      1,
			wantAt:     delay + ms(10),
			wantStarts: []time.Duration{0, delay},
		},
		{
			name: "HedgeOnError starts the next at once",
			opts: []timeout.HedgeOption{timeout.MaxHedges(2), timeout.HedgeOnError()},
			script: func(i int) (time.Duration, error) {
				return []time.Duration{ms(10), -1, ms(10)}[i], []error{errs[0], nil, nil}[i]
			},
			wantV:      2,
			wantAt:     ms(10) + delay + ms(10),
			wantStarts: []time.Duration{0, ms(10), ms(10) + delay},
			wantLost:   1,
		},
		{
			name:       "all fail: errors joined",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(2)},
			script:     func(i int) (time.Duration, error) { return ms(250 - 100*i), errs[i] },
			wantErrs:   errs[:3],
			wantAt:     ms(250),
			wantStarts: []time.Duration{0, delay, 2 * delay},
		},
		{
			name:       "all fail with HedgeOnError",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(3), timeout.HedgeOnError()},
			script:     func(i int) (time.Duration, error) { return ms(10), errs[i] },
			wantErrs:   errs,
			wantAt:     ms(40),
			wantStarts: []time.Duration{0, ms(10), ms(20), ms(30)},
		},
		{
			name:       "delay 0 starts every attempt at once",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(2)},
			script:     func(i int) (time.Duration, error) { return ms(30 - 10*i), nil },
			wantAt:     ms(10),
			wantV:      2,
			wantStarts: []time.Duration{0, 0, 0},
			wantLost:   2,
		},
		{
			name:       "caller cancels while attempts run",
			opts:       []timeout.HedgeOption{timeout.MaxHedges(3)},
			script:     never,
			cancelAt:   ms(150),
			wantErrs:   []error{errBoom}, // the cause, once, for the attempts that echo it
			wantAt:     ms(150),
			wantStarts: []time.Duration{0, delay},
		},
		{
			name:       "caller cancels while waiting for the delay",
			script:     func(int) (time.Duration, error) { return ms(10), errs[0] },
			cancelAt:   ms(50),
			wantErrs:   []error{errs[0], errBoom},
			wantAt:     ms(50),
			wantStarts: []time.Duration{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, func() { cancel(errBoom) })
				}
				d := delay
				if tt.name == "delay 0 starts every attempt at once" {
					d = 0
				}
				r := newRecorder(tt.script)
				v, err := timeout.Hedge(ctx, d, r.fn, append(tt.opts, timeout.OnHedge(r.onHedge))...)

				started, returned := r.snapshot()
				assert.Equal(t, started, returned, "every attempt has returned")
				assert.Equal(t, tt.wantAt, time.Since(r.start))
				assert.Equal(t, tt.wantStarts, r.starts)
				wantHedges := []int(nil)
				for n := 1; n < len(tt.wantStarts); n++ {
					wantHedges = append(wantHedges, n)
				}
				assert.ElementsMatch(t, wantHedges, r.hedges)
				lost := 0
				for _, c := range r.causes {
					if c != nil && c.Error() == "timeout: Hedge: another attempt succeeded" {
						lost++
					}
				}
				assert.Equal(t, tt.wantLost, lost)

				if tt.wantErrs == nil {
					require.NoError(t, err)
					if tt.wantV >= 0 {
						assert.Equal(t, tt.wantV, v)
					}
					return
				}
				require.Error(t, err)
				assert.Zero(t, v)
				for _, want := range tt.wantErrs {
					assert.ErrorIs(t, err, want)
				}
				if len(tt.wantErrs) == 1 {
					assert.Equal(t, tt.wantErrs[0], err, "a single error is returned unchanged")
				}
			})
		})
	}
}

// TestHedgeWaitsForLosers checks that Hedge returns only after a loser that
// is slow to honour its cancellation has returned.
func TestHedgeWaitsForLosers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var returned atomic.Int32
		v, err := timeout.Hedge(context.Background(), delay, func(ctx context.Context) (int, error) {
			defer returned.Add(1)
			if returned.Load() == 0 && time.Since(start) == 0 {
				<-ctx.Done()
				time.Sleep(time.Second) // cleaning up
				return 0, ctx.Err()
			}
			return 1, nil
		})
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(2), returned.Load())
		assert.Equal(t, delay+time.Second, time.Since(start))
	})
}

// TestHedgeErrorOrder checks that the joined errors follow the order in
// which the attempts started, not the order in which they failed.
func TestHedgeErrorOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(func(i int) (time.Duration, error) { return ms(300 - 100*i), fmt.Errorf("e%d", i) })
		_, err := timeout.Hedge(context.Background(), delay, r.fn, timeout.MaxHedges(2))
		assert.EqualError(t, err, "e0\ne1\ne2")
	})
}

// TestHedgePanic checks that a panic in an extra attempt cancels the others,
// waits for them, and is raised in the caller with its stack.
func TestHedgePanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(func(i int) (time.Duration, error) { return -1, nil })
		var calls atomic.Int32
		fn := func(ctx context.Context) (int, error) {
			if calls.Add(1) == 2 {
				panic("hedge broke")
			}
			return r.fn(ctx)
		}
		var rec any
		func() {
			defer func() { rec = recover() }()
			_, _ = timeout.Hedge(context.Background(), delay, fn)
		}()
		p, ok := rec.(*timeout.PanicError)
		require.True(t, ok, "got %v", rec)
		assert.Equal(t, "hedge broke", p.Value)
		assert.False(t, p.Goexit)
		assert.Contains(t, string(p.Stack), "TestHedgePanic")
		assert.Contains(t, p.Error(), "hedge broke [recovered]")
		started, returned := r.snapshot()
		assert.Equal(t, 1, started)
		assert.Equal(t, 1, returned, "the first attempt returned before the panic was raised")
		assert.Same(t, p, r.causes[0], "the others were cancelled with the panic, as in a group")
	})
}

// TestHedgePanicFirst checks that a panic in the first attempt, which runs
// in the caller's goroutine, passes through after the hedges have returned.
func TestHedgePanicFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(func(i int) (time.Duration, error) { return -1, nil })
		var calls atomic.Int32
		fn := func(ctx context.Context) (int, error) {
			if calls.Add(1) == 1 {
				time.Sleep(2 * delay)
				panic("first broke")
			}
			return r.fn(ctx)
		}
		assert.PanicsWithValue(t, "first broke", func() {
			_, _ = timeout.Hedge(context.Background(), delay, fn)
		})
		started, returned := r.snapshot()
		assert.Equal(t, 1, started)
		assert.Equal(t, 1, returned)
	})
}

func TestHedgeOptionPanics(t *testing.T) {
	assert.PanicsWithValue(t, "timeout: MaxHedges(-1): n must not be negative", func() { timeout.MaxHedges(-1) })
	assert.PanicsWithValue(t, "timeout: OnHedge(nil): fn must not be nil", func() { timeout.OnHedge(nil) })
	assert.PanicsWithValue(t, "timeout: nil function", func() {
		_, _ = timeout.Hedge[int](context.Background(), time.Second, nil)
	})
	assert.PanicsWithValue(t, "timeout: nil context", func() {
		//lint:ignore SA1012 the misuse under test
		_, _ = timeout.Hedge(nil, time.Second, func(context.Context) (int, error) { return 0, nil }) //nolint:staticcheck // the misuse under test
	})
}

// TestHedgeNegativeDelay checks that a negative delay starts every attempt
// at once, as 0 does: call-time durations follow context.WithTimeout.
func TestHedgeNegativeDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder(func(i int) (time.Duration, error) { return ms(30 - 10*i), nil })
		v, err := timeout.Hedge(context.Background(), -time.Second, r.fn, timeout.MaxHedges(2))
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, []time.Duration{0, 0, 0}, r.starts)
	})
}

// TestHedgeStress races attempts that succeed or fail at random against the
// hedge timer, in real time, and checks that Hedge returns a success when one
// happened, all errors otherwise, and never leaves an attempt running.
func TestHedgeStress(t *testing.T) {
	for range 300 {
		var running, succeeded atomic.Int32
		fail := rand.IntN(5) // attempts numbered below fail fail: with 4, every attempt does
		var n atomic.Int32
		fn := func(ctx context.Context) (int, error) {
			running.Add(1)
			defer running.Add(-1)
			i := int(n.Add(1)) - 1
			if rand.IntN(2) == 0 {
				time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
			}
			if i < fail {
				return 0, errBoom
			}
			succeeded.Add(1)
			return i, nil
		}
		opts := []timeout.HedgeOption{timeout.MaxHedges(3)}
		if rand.IntN(2) == 0 {
			opts = append(opts, timeout.HedgeOnError())
		}
		v, err := timeout.Hedge(context.Background(), time.Duration(rand.IntN(30))*time.Microsecond, fn, opts...)
		require.Zero(t, running.Load(), "an attempt is still running")
		if fail == 4 {
			require.ErrorIs(t, err, errBoom)
			require.Zero(t, succeeded.Load())
			require.EqualValues(t, 4, n.Load(), "every attempt was made before giving up")
			continue
		}
		require.NoError(t, err)
		require.GreaterOrEqual(t, v, fail)
	}
}
