package group_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/group"
)

// mapSeqCounting yields 0, 1, 2, ... (n items, or forever when n < 0) and
// counts the items pulled.
func mapSeqCounting(n int, pulled *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; n < 0 || i < n; i++ {
			pulled.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

// mapSeqCollect ranges over seq and returns the values and the errors.
func mapSeqCollect[T any](seq iter.Seq2[T, error]) (vals []T, errs []error) {
	for v, err := range seq {
		vals = append(vals, v)
		errs = append(errs, err)
	}
	return vals, errs
}

func TestMapSeqOrderLimitAndPullBound(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n, limit  int
		slowTaker bool
	}{
		{"empty", 0, 2, false},
		{"one", 1, 2, false},
		{"limit 1", 30, 1, false},
		{"limit 4", 200, 4, false},
		{"limit 4, slow consumer", 100, 4, true},
		{"limit above n", 5, 16, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g gatherGauge
				var pulled atomic.Int64
				seq := group.MapSeq(t.Context(), mapSeqCounting(tc.n, &pulled), func(ctx context.Context, i int) (int, error) {
					g.enter()
					defer g.exit()
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					return i * i, nil
				}, group.Limit(tc.limit))
				got := 0
				for v, err := range seq {
					require.NoError(t, err)
					require.Equal(t, got*got, v)
					got++
					// The documented bound: at most 2×Limit pulled and not yet yielded.
					require.LessOrEqual(t, pulled.Load(), int64(got-1+2*tc.limit))
					if tc.slowTaker {
						time.Sleep(time.Millisecond)
					}
				}
				assert.Equal(t, tc.n, got)
				assert.LessOrEqual(t, g.max.Load(), int64(tc.limit))
				if tc.n >= 4*tc.limit && !tc.slowTaker {
					assert.Equal(t, int64(tc.limit), g.max.Load(), "workers are kept busy")
				}
			})
		})
	}
}

func TestMapSeqInfiniteAndBreak(t *testing.T) {
	var pulled atomic.Int64
	var running, calls atomic.Int64
	seq := group.MapSeq(t.Context(), mapSeqCounting(-1, &pulled), func(ctx context.Context, i int) (string, error) {
		running.Add(1)
		defer running.Add(-1)
		calls.Add(1)
		if i >= 10 {
			<-ctx.Done() // only a break can end these
			return "", ctx.Err()
		}
		return fmt.Sprint(i), nil
	}, group.Limit(3))
	var got []string
	for v, err := range seq {
		require.NoError(t, err)
		got = append(got, v)
		if len(got) == 10 {
			break
		}
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, got)
	assert.Zero(t, running.Load(), "every call returned before the loop ended")
	assert.LessOrEqual(t, pulled.Load(), int64(10+6))
	goleak.VerifyNone(t)
}

func TestMapSeqErrorStopsStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		fn := func(ctx context.Context, i int) (int, error) {
			// Later items finish first; item 5 fails before 0..4 are done.
			time.Sleep(time.Duration(20-i) * time.Millisecond)
			switch i {
			case 5, 7:
				return -i, fmt.Errorf("bad %d: %w", i, errGatherBoom)
			case 6:
				<-ctx.Done()
				cause = context.Cause(ctx)
				return 0, ctx.Err()
			}
			return i, nil
		}
		vals, errs := mapSeqCollect(group.MapSeq(t.Context(), slices.Values(gatherInts(20)), fn, group.Limit(8)))
		assert.Equal(t, []int{0, 1, 2, 3, 4, -5}, vals, "the items before the error are yielded, as in a loop")
		require.Len(t, errs, 6)
		assert.EqualError(t, errs[5], "group: item 5: bad 5: boom")
		assert.ErrorIs(t, cause, errGatherBoom, "items after the error are cancelled with it")

		vals, errs = mapSeqCollect(group.MapSeq(t.Context(), slices.Values(gatherInts(20)), func(ctx context.Context, i int) (int, error) {
			if i == 6 {
				return 6, nil
			}
			return fn(ctx, i)
		}, group.Limit(8), group.KeepGoing()))
		assert.Len(t, vals, 20)
		require.Len(t, errs, 20)
		for i, err := range errs {
			if i == 5 || i == 7 {
				assert.EqualError(t, err, fmt.Sprintf("group: item %d: bad %d: boom", i, i))
			} else {
				assert.NoError(t, err)
			}
		}
	})
}

func TestMapSeqCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("closing")
		ctx, cancel := context.WithCancelCause(t.Context())
		vals, errs := mapSeqCollect(group.MapSeq(ctx, mapSeqCounting(-1, new(atomic.Int64)), func(ctx context.Context, i int) (int, error) {
			if i == 3 {
				time.Sleep(500 * time.Microsecond) // item 2 has started
				cancel(cause)
			}
			if i >= 3 {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			time.Sleep(time.Millisecond)
			return i, nil
		}, group.Limit(2), group.KeepGoing()))
		assert.Equal(t, []int{0, 1, 2, 0}, vals)
		assert.Equal(t, []error{nil, nil, nil, cause}, errs, "the cause once, at the end")
	})
}

func TestMapSeqPanic(t *testing.T) {
	boom := func(ctx context.Context, i int) (int, error) {
		switch i {
		case 4:
			panic("seq boom")
		case 5:
			runtime.Goexit()
		}
		return i, nil
	}
	t.Run("re-raised", func(t *testing.T) {
		var running atomic.Int64
		var p any
		func() {
			defer func() { p = recover() }()
			for range group.MapSeq(t.Context(), mapSeqCounting(-1, new(atomic.Int64)), func(ctx context.Context, i int) (int, error) {
				running.Add(1)
				defer running.Add(-1)
				if i > 5 {
					<-ctx.Done() // the panic must cancel these
				}
				return boom(ctx, i)
			}, group.Limit(4)) {
			}
		}()
		pe, ok := p.(*group.PanicError)
		require.True(t, ok, "got %T", p)
		assert.True(t, pe.Value == "seq boom" || pe.Goexit)
		assert.Zero(t, running.Load())
	})
	t.Run("as errors", func(t *testing.T) {
		vals, errs := mapSeqCollect(group.MapSeq(t.Context(), slices.Values(gatherInts(8)), boom, group.PanicAsError(), group.KeepGoing()))
		assert.Equal(t, []int{0, 1, 2, 3, 0, 0, 6, 7}, vals)
		var pe *group.PanicError
		require.ErrorAs(t, errs[4], &pe)
		assert.Equal(t, "seq boom", pe.Value)
		require.ErrorAs(t, errs[5], &pe)
		assert.True(t, pe.Goexit)
	})
}

func TestMapSeqBodyOrSeqPanics(t *testing.T) {
	var running atomic.Int64
	fn := func(ctx context.Context, i int) (int, error) {
		running.Add(1)
		defer running.Add(-1)
		if i >= 3 {
			<-ctx.Done() // only the cancellation on the way out ends these
		}
		return i, nil
	}
	assert.PanicsWithValue(t, "body", func() {
		for v := range group.MapSeq(t.Context(), mapSeqCounting(-1, new(atomic.Int64)), fn, group.Limit(3)) {
			if v == 2 {
				panic("body")
			}
		}
	})
	assert.Zero(t, running.Load(), "workers exited before the panic left the loop")

	badSeq := func(yield func(int) bool) {
		for i := range 5 {
			if !yield(i) {
				return
			}
		}
		panic("seq")
	}
	assert.PanicsWithValue(t, "seq", func() {
		for range group.MapSeq(t.Context(), badSeq, fn, group.Limit(3)) {
		}
	})
	assert.Zero(t, running.Load())
}

func TestMapSeqNil(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	assert.PanicsWithValue(t, "group: nil sequence", func() { group.MapSeq(t.Context(), nil, fn) })
	assert.PanicsWithValue(t, "group: nil function", func() {
		group.MapSeq[int, int](t.Context(), slices.Values([]int{1}), nil)
	})
	assert.PanicsWithValue(t, "group: nil context", func() {
		//lint:ignore SA1012 the misuse under test
		group.MapSeq(nil, slices.Values([]int{1}), fn) //nolint:staticcheck // the misuse under test
	})
	assert.PanicsWithValue(t, "group: nil sequence", func() { group.MapSeq2[int](t.Context(), nil, fn) })
}

func TestMapSeqStress(t *testing.T) {
	for round := range 200 {
		n := rand.IntN(200)
		failAt, panicAt, cancelAt, breakAt := rand.IntN(300), rand.IntN(300), rand.IntN(300), rand.IntN(300)
		opts := []group.Option{group.Limit(1 + rand.IntN(6)), group.PanicAsError()}
		if round%2 == 0 {
			opts = append(opts, group.KeepGoing())
		}
		ctx, cancel := context.WithCancel(t.Context())
		var running atomic.Int32
		seq := group.MapSeq(ctx, slices.Values(gatherInts(n)), func(ctx context.Context, i int) (int, error) {
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
			return i, nil
		}, opts...)
		next := 0
		for v, err := range seq {
			if err == nil {
				require.Equal(t, next, v, "in order")
			} else if !errors.Is(err, context.Canceled) {
				require.ErrorIs(t, err, errGatherBoom)
			}
			next++
			if next == breakAt {
				break
			}
		}
		cancel()
		require.Zero(t, running.Load(), "every call returned before the loop ended")
		if failAt >= n && panicAt >= n && cancelAt >= n && breakAt > n {
			require.Equal(t, n, next)
		}
	}
}

// mapSeq2Input yields 0..n-1, with errs[i] in place of item i where set.
func mapSeq2Input(n int, errs map[int]error) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for i := range n {
			if !yield(i, errs[i]) {
				return
			}
		}
	}
}

func TestMapSeq2PassesErrorsOn(t *testing.T) {
	errIn := errors.New("upstream")
	double := func(_ context.Context, i int) (int, error) { return 2 * i, nil }
	t.Run("default: the error ends the sequence", func(t *testing.T) {
		vals, errs := mapSeqCollect(group.MapSeq2(t.Context(), mapSeq2Input(10, map[int]error{4: errIn}), double, group.Limit(3)))
		assert.Equal(t, []int{0, 2, 4, 6, 0}, vals)
		assert.Equal(t, []error{nil, nil, nil, nil, errIn}, errs, "passed on unchanged, after the items before it")
	})
	t.Run("keep going", func(t *testing.T) {
		vals, errs := mapSeqCollect(group.MapSeq2(t.Context(), mapSeq2Input(6, map[int]error{1: errIn, 4: errIn}), double, group.Limit(2), group.KeepGoing()))
		assert.Equal(t, []int{0, 0, 4, 6, 0, 10}, vals)
		assert.Equal(t, []error{nil, errIn, nil, nil, errIn, nil}, errs)
	})
}

// TestMapSeqChain checks that stages chain, that an error in a middle stage
// names its item once and ends every stage, and that a break in the loop
// stops the stages before it with their workers done.
func TestMapSeqChain(t *testing.T) {
	var running atomic.Int64
	stage := func(fail int) func(context.Context, int) (int, error) {
		return func(ctx context.Context, i int) (int, error) {
			running.Add(1)
			defer running.Add(-1)
			if i == fail {
				return 0, errGatherBoom
			}
			return i, nil
		}
	}
	var pulled atomic.Int64
	first := group.MapSeq(t.Context(), mapSeqCounting(-1, &pulled), stage(-1), group.Limit(2))
	second := group.MapSeq2(t.Context(), first, stage(7), group.Limit(3))
	third := group.MapSeq2(t.Context(), second, stage(-1), group.Limit(2))
	vals, errs := mapSeqCollect(third)
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 0}, vals)
	require.Len(t, errs, 8)
	assert.EqualError(t, errs[7], "group: item 7: boom", "named once, by the stage that failed")
	assert.Zero(t, running.Load())

	n := 0
	for v, err := range group.MapSeq2(t.Context(), group.MapSeq(t.Context(), mapSeqCounting(-1, &pulled), stage(-1), group.Limit(2)), stage(-1), group.Limit(2)) {
		require.NoError(t, err)
		if n++; v == 20 {
			break
		}
	}
	assert.Equal(t, 21, n)
	assert.Zero(t, running.Load(), "a break stops every stage")
	goleak.VerifyNone(t)
}

// TestMapSeqChainCancelled checks that when the context of every stage is
// cancelled with a cause, the loop sees the cause once, at the end.
func TestMapSeqChainCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("closing")
		ctx, cancel := context.WithCancelCause(t.Context())
		slow := func(ctx context.Context, i int) (int, error) {
			if i == 5 {
				cancel(cause)
			}
			select {
			case <-time.After(time.Millisecond):
				return i, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		first := group.MapSeq(ctx, mapSeqCounting(-1, new(atomic.Int64)), slow, group.Limit(1))
		_, errs := mapSeqCollect(group.MapSeq2(ctx, first, slow, group.Limit(1), group.KeepGoing()))
		require.NotEmpty(t, errs)
		assert.Equal(t, cause, errs[len(errs)-1])
		for _, err := range errs[:len(errs)-1] {
			assert.NoError(t, err, "the cause once, at the end")
		}
	})
}
