package group_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

func TestResultsOrder(t *testing.T) {
	// 1k tasks finishing in random order: values come back in Go order.
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		r := rand.New(rand.NewPCG(1, 2))
		rg := group.NewResults[int](t.Context(), group.Limit(64))
		for i := range n {
			d := time.Duration(r.IntN(1000)) * time.Millisecond
			rg.Go(func(context.Context) (int, error) {
				time.Sleep(d)
				return 2 * i, nil
			})
		}
		vals, err := rg.Wait()
		require.NoError(t, err)
		require.Len(t, vals, n)
		for i, v := range vals {
			require.Equal(t, 2*i, v)
		}
	})
}

func TestResultsPolicy(t *testing.T) {
	tests := []struct {
		name string
		opts []group.Option
		want []string
		err  []error
	}{
		{"first error cancels", nil, []string{"a", "", ""}, []error{errGroupA}},
		{"keep going", []group.Option{group.KeepGoing()}, []string{"a", "", "c"}, []error{errGroupA, errGroupB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rg := group.NewResults[string](t.Context(), tt.opts...)
				rg.Go(func(context.Context) (string, error) { return "a", nil })
				rg.Go(func(context.Context) (string, error) {
					time.Sleep(time.Second)
					return "ignored", errGroupA
				})
				rg.GoNamed("c", func(ctx context.Context) (string, error) {
					select {
					case <-time.After(2 * time.Second):
						return "c", nil
					case <-ctx.Done():
						return "", ctx.Err()
					}
				})
				rg.GoNamed("d", func(ctx context.Context) (string, error) {
					time.Sleep(3 * time.Second)
					return "d", errGroupB
				})
				vals, err := rg.Wait()
				assert.Equal(t, append(tt.want, ""), vals, "a failed task's place holds the zero value")
				for _, e := range tt.err {
					assert.ErrorIs(t, err, e)
				}
				if len(tt.err) == 2 {
					assert.Contains(t, err.Error(), `group: task "d": b failed`, "a named task's error names it")
				}
			})
		})
	}
}

func TestResultsTryGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rg := group.NewResults[int](t.Context(), group.Limit(1))
		release := make(chan struct{})
		require.True(t, rg.TryGo(func(context.Context) (int, error) { <-release; return 1, nil }))
		assert.False(t, rg.TryGo(func(context.Context) (int, error) { return 2, nil }), "no place is reserved")
		assert.Equal(t, 1, rg.Stats().Running)
		close(release)
		synctest.Wait()
		require.True(t, rg.TryGo(func(context.Context) (int, error) { return 3, nil }))
		vals, err := rg.Wait()
		require.NoError(t, err)
		assert.Equal(t, []int{1, 3}, vals)
	})
}

func TestResultsCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rg := group.NewResults[int](t.Context(), group.Limit(1))
		rg.Go(func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
		done := make(chan struct{})
		var ran atomic.Bool
		go func() {
			defer close(done)
			rg.Go(func(context.Context) (int, error) { ran.Store(true); return 5, nil })
		}()
		synctest.Wait()
		rg.Cancel(errStop)
		<-done
		vals, err := rg.Wait()
		assert.Equal(t, &group.NotStartedError{N: 1, Cause: errStop}, err)
		assert.Equal(t, []int{0, 0}, vals, "a task not started keeps its place")
		assert.False(t, ran.Load())
	})
}

func TestResultsPanic(t *testing.T) {
	rg := group.NewResults[int](t.Context())
	rg.Go(func(context.Context) (int, error) { panic("results boom") })
	v := groupRecover(func() { _, _ = rg.Wait() })
	pe, ok := v.(*group.PanicError)
	require.True(t, ok, "got %T", v)
	assert.Equal(t, "results boom", pe.Value)
	assert.Contains(t, string(pe.Stack), "TestResultsPanic")
}

func TestResultsMisuse(t *testing.T) {
	rg := group.NewResults[int](context.Background())
	assert.PanicsWithValue(t, "group: nil function", func() { rg.Go(nil) })
	assert.PanicsWithValue(t, "group: nil function", func() { rg.TryGo(nil) })
	assert.PanicsWithValue(t, "group: nil function", func() { _ = rg.Start(nil) })
	assert.PanicsWithValue(t, "group: ResultGroup used without NewResults", func() {
		new(group.ResultGroup[int]).Go(func(context.Context) (int, error) { return 0, nil })
	})
	_, _ = rg.Wait()
	assert.PanicsWithValue(t, "group: Go called after Wait returned", func() {
		rg.Go(func(context.Context) (int, error) { return 0, nil })
	})
}

func TestResultsStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rg := group.NewResults[string](t.Context())
		rg.Go(func(context.Context) (string, error) { return "first", nil })
		err := rg.Start(func(ctx context.Context, ready func()) (string, error) {
			ready()
			<-ctx.Done()
			return "served", nil
		})
		require.NoError(t, err)
		assert.Equal(t, errGroupA, rg.Start(func(context.Context, func()) (string, error) { return "", errGroupA }))
		rg.Cancel(nil)
		vals, err := rg.Wait()
		assert.Equal(t, errGroupA, err)
		assert.Equal(t, []string{"first", "served", ""}, vals, "each Start keeps its place")
	})
}
