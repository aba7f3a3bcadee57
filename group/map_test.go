package group_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

var errGatherBoom = errors.New("boom")

// gatherGauge tracks how many calls run at once and the most seen.
type gatherGauge struct{ cur, max atomic.Int64 }

func (g *gatherGauge) enter() {
	n := g.cur.Add(1)
	for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
	}
}

func (g *gatherGauge) exit() { g.cur.Add(-1) }

func gatherInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestMapOrderAndLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n     int
		opts  []group.Option
		limit int
	}{
		{"empty", 0, nil, runtime.GOMAXPROCS(0)},
		{"one", 1, nil, runtime.GOMAXPROCS(0)},
		{"default limit", 200, nil, runtime.GOMAXPROCS(0)},
		{"limit 1", 50, []group.Option{group.Limit(1)}, 1},
		{"limit 7", 300, []group.Option{group.Limit(7)}, 7},
		{"limit above n", 5, []group.Option{group.Limit(64)}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g gatherGauge
				delays := make([]time.Duration, tc.n)
				for i := range delays {
					delays[i] = time.Duration(rand.IntN(1000)) * time.Microsecond
				}
				out, err := group.Map(t.Context(), gatherInts(tc.n), func(ctx context.Context, i int) (string, error) {
					g.enter()
					defer g.exit()
					time.Sleep(delays[i])
					return fmt.Sprint(i * i), nil
				}, tc.opts...)
				require.NoError(t, err)
				require.Len(t, out, tc.n)
				for i, v := range out {
					require.Equal(t, fmt.Sprint(i*i), v)
				}
				assert.LessOrEqual(t, g.max.Load(), int64(tc.limit))
				if tc.n >= 2*tc.limit {
					// Sleeping items all overlap in the bubble: the limit is reached.
					assert.Equal(t, int64(tc.limit), g.max.Load())
				}
			})
		})
	}
}

// TestMapEachIndexOnce checks chunked claiming over many tiny items.
func TestMapEachIndexOnce(t *testing.T) {
	const n = 20_011
	for _, limit := range []int{1, 2, 3, 16} {
		calls := make([]atomic.Int32, n)
		out, err := group.Map(t.Context(), gatherInts(n), func(_ context.Context, i int) (int, error) {
			calls[i].Add(1)
			return 2 * i, nil
		}, group.Limit(limit))
		require.NoError(t, err)
		for i := range n {
			if calls[i].Load() != 1 || out[i] != 2*i {
				t.Fatalf("limit %d: item %d ran %d times, out %d", limit, i, calls[i].Load(), out[i])
			}
		}
	}
}

func TestMapFirstErrorCancelsRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var started, cancelled atomic.Int32
		out, err := group.Map(t.Context(), gatherInts(100), func(ctx context.Context, i int) (int, error) {
			started.Add(1)
			if i == 3 {
				time.Sleep(time.Millisecond)
				return -1, errGatherBoom
			}
			select {
			case <-ctx.Done():
				cancelled.Add(1)
				assert.ErrorIs(t, context.Cause(ctx), errGatherBoom)
				return 0, ctx.Err()
			case <-time.After(time.Hour):
				return i, nil
			}
		}, group.Limit(4))
		require.ErrorIs(t, err, errGatherBoom)
		assert.EqualError(t, err, "group: item 3: boom")
		assert.Equal(t, int32(4), started.Load(), "no item starts after the failure")
		assert.Equal(t, int32(3), cancelled.Load())
		assert.Equal(t, -1, out[3], "fn's value is kept")
	})
}

func TestMapKeepGoingJoinsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int32
		// Item i fails after 10-i ms: errors occur in reverse index order.
		err := group.ForEach(t.Context(), gatherInts(10), func(ctx context.Context, i int) error {
			ran.Add(1)
			time.Sleep(time.Duration(10-i) * time.Millisecond)
			require.NoError(t, ctx.Err(), "errors do not cancel")
			if i%3 == 0 {
				return fmt.Errorf("e%d: %w", i, errGatherBoom)
			}
			return nil
		}, group.KeepGoing(), group.Limit(10))
		require.ErrorIs(t, err, errGatherBoom)
		assert.Equal(t, int32(10), ran.Load())
		var msgs []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			msgs = append(msgs, e.Error())
		}
		assert.Equal(t, []string{
			"group: item 9: e9: boom", "group: item 6: e6: boom",
			"group: item 3: e3: boom", "group: item 0: e0: boom",
		}, msgs)
	})
}

func TestMapCancelledContext(t *testing.T) {
	cause := errors.New("shutting down")
	for _, tc := range []struct {
		name string
		opts []group.Option
	}{{"default", nil}, {"keep going", []group.Option{group.KeepGoing()}}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			cancel(cause)
			var ran atomic.Int32
			_, err := group.Map(ctx, gatherInts(50), func(context.Context, int) (int, error) {
				ran.Add(1)
				return 0, nil
			}, tc.opts...)
			require.ErrorIs(t, err, cause)
			assert.EqualError(t, err, "shutting down", "the cause, once")
			assert.Zero(t, ran.Load())
		})
	}

	t.Run("mid-way", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			var ran atomic.Int32
			_, err := group.Map(ctx, gatherInts(100), func(ctx context.Context, i int) (int, error) {
				ran.Add(1)
				if i == 10 {
					cancel(cause)
				}
				time.Sleep(time.Millisecond) // not ctx-aware: every running item succeeds
				return i, nil
			}, group.Limit(2))
			assert.Equal(t, cause, err)
			assert.Less(t, ran.Load(), int32(14))
		})
	})
}

func TestMapPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p any
		func() {
			defer func() { p = recover() }()
			_, _ = group.Map(t.Context(), gatherInts(8), gatherPanicky, group.Limit(8))
		}()
		pe, ok := p.(*group.PanicError)
		require.True(t, ok, "re-raised as *PanicError, got %T", p)
		assert.Equal(t, "bad item", pe.Value)
		assert.Contains(t, pe.Error(), "gatherPanicky", "the message carries the task's stack")
	})
}

// gatherPanicky panics for item 5; the others wait for cancellation, which
// proves the panic cancelled them (otherwise the bubble would deadlock).
func gatherPanicky(ctx context.Context, i int) (int, error) {
	if i == 5 {
		panic("bad item")
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

func TestMapPanicAsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, err := group.Map(t.Context(), gatherInts(8), gatherPanicky, group.Limit(8), group.PanicAsError())
		var pe *group.PanicError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "bad item", pe.Value)
		assert.Contains(t, err.Error(), "group: item 5: bad item [recovered]\n\ngoroutine ")
	})
}

func TestMapGoexit(t *testing.T) {
	exit := func(_ context.Context, i int) (int, error) {
		if i%4 == 1 {
			runtime.Goexit()
		}
		return i, nil
	}
	t.Run("re-raised", func(t *testing.T) {
		var p any
		func() {
			defer func() { p = recover() }()
			_, _ = group.Map(t.Context(), gatherInts(8), exit)
		}()
		pe, ok := p.(*group.PanicError)
		require.True(t, ok, "got %T", p)
		assert.True(t, pe.Goexit)
	})
	t.Run("keep going as errors", func(t *testing.T) {
		// Every Goexit ends a worker; a replacement finishes the items.
		out, err := group.Map(t.Context(), gatherInts(40), exit, group.Limit(2), group.KeepGoing(), group.PanicAsError())
		errs := err.(interface{ Unwrap() []error }).Unwrap()
		assert.Len(t, errs, 10)
		for _, e := range errs {
			var pe *group.PanicError
			require.ErrorAs(t, e, &pe)
			assert.True(t, pe.Goexit)
		}
		for i, v := range out {
			if i%4 != 1 {
				assert.Equal(t, i, v)
			}
		}
	})
}

func TestMapKeepGoingPanicsAsErrors(t *testing.T) {
	var ran atomic.Int32
	_, err := group.Map(t.Context(), gatherInts(1000), func(_ context.Context, i int) (int, error) {
		ran.Add(1)
		if i%100 == 0 {
			panic(i)
		}
		return i, nil
	}, group.KeepGoing(), group.PanicAsError(), group.Limit(3))
	assert.Equal(t, int32(1000), ran.Load(), "a panic does not stop its worker's other items")
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 10)
}

func TestMapStress(t *testing.T) {
	for round := range 200 {
		n := rand.IntN(300)
		failAt, panicAt, cancelAt := rand.IntN(400), rand.IntN(400), rand.IntN(400)
		opts := []group.Option{group.Limit(1 + rand.IntN(8)), group.PanicAsError()}
		if round%2 == 0 {
			opts = append(opts, group.KeepGoing())
		}
		ctx, cancel := context.WithCancel(t.Context())
		var running atomic.Int32
		out, err := group.Map(ctx, gatherInts(n), func(ctx context.Context, i int) (int, error) {
			running.Add(1)
			defer running.Add(-1)
			switch i {
			case failAt:
				return 0, errGatherBoom
			case panicAt:
				panic(errGatherBoom)
			case cancelAt:
				cancel()
			}
			runtime.Gosched()
			return i + 1, nil
		}, opts...)
		cancel()
		require.Zero(t, running.Load(), "every call returned before Map did")
		require.Len(t, out, n)
		switch {
		case cancelAt < n:
			// Whether the failures ran before the cancellation is up to the scheduler.
		case failAt < n || panicAt < n:
			require.ErrorIs(t, err, errGatherBoom)
		default:
			require.NoError(t, err)
			for i, v := range out {
				require.Equal(t, i+1, v)
			}
		}
	}
}

func TestGatherName(t *testing.T) {
	var seen atomic.Int32
	label := func(ctx context.Context, i int) (int, error) {
		if v, _ := pprof.Label(ctx, "group"); v == "fetch" {
			seen.Add(1)
		}
		return i, nil
	}
	name := group.Name("fetch")
	_, err := group.Map(t.Context(), gatherInts(3), label, name)
	require.NoError(t, err)
	require.NoError(t, group.ForEach(t.Context(), gatherInts(3), func(ctx context.Context, i int) error {
		_, err := label(ctx, i)
		return err
	}, name))
	group.Settle(t.Context(), gatherInts(3), label, name)
	for range group.MapSeq(t.Context(), slices.Values(gatherInts(3)), label, name) {
	}
	assert.Equal(t, int32(12), seen.Load())
}

func TestMapNilFn(t *testing.T) {
	assert.PanicsWithValue(t, "group: nil function", func() {
		_, _ = group.Map[int, int](t.Context(), nil, nil)
	})
	assert.PanicsWithValue(t, "group: nil function", func() {
		_ = group.ForEach[int](t.Context(), nil, nil)
	})
}

func TestForEach(t *testing.T) {
	var sum atomic.Int64
	require.NoError(t, group.ForEach(t.Context(), gatherInts(1000), func(_ context.Context, i int) error {
		sum.Add(int64(i))
		return nil
	}))
	assert.Equal(t, int64(999*1000/2), sum.Load())

	err := group.ForEach(t.Context(), gatherInts(10), func(_ context.Context, i int) error {
		if i == 7 {
			return errGatherBoom
		}
		return nil
	}, group.Limit(1))
	assert.EqualError(t, err, "group: item 7: boom")
}
