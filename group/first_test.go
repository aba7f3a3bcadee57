package group_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

// firstAfter returns a function that succeeds with v after d, or fails with
// err when err is set; it counts its returns in *returned and its
// cancellations in *cancelled.
func firstAfter(d time.Duration, v string, err error, returned, cancelled *atomic.Int32) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		defer returned.Add(1)
		select {
		case <-time.After(d):
			return v, err
		case <-ctx.Done():
			cancelled.Add(1)
			return "", context.Cause(ctx)
		}
	}
}

func TestFirst(t *testing.T) {
	e1, e2, e3 := errors.New("e1"), errors.New("e2"), errors.New("e3")
	for _, tc := range []struct {
		name      string
		delays    []time.Duration
		vals      []string
		errs      []error
		want      string
		wantErr   string
		cancelled int32
	}{
		{"fastest success wins", []time.Duration{3, 1, 2}, []string{"a", "b", "c"}, []error{nil, nil, nil}, "b", "", 2},
		{"failures before a success", []time.Duration{1, 2, 5, 9}, []string{"", "", "c", "d"}, []error{e1, e2, nil, nil}, "c", "", 1},
		{"one", []time.Duration{1}, []string{"a"}, []error{nil}, "a", "", 0},
		{"all fail, joined in argument order", []time.Duration{3, 1, 2}, []string{"", "", ""}, []error{e1, e2, e3}, "",
			"group: function 0: e1\ngroup: function 1: e2\ngroup: function 2: e3", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var returned, cancelled atomic.Int32
				var fns []func(context.Context) (string, error)
				for i, d := range tc.delays {
					fns = append(fns, firstAfter(d*time.Millisecond, tc.vals[i], tc.errs[i], &returned, &cancelled))
				}
				v, err := group.First(t.Context(), fns...)
				assert.Equal(t, int32(len(fns)), returned.Load(), "every fn returned before First did")
				assert.Equal(t, tc.cancelled, cancelled.Load(), "the losers saw cancellation")
				assert.Equal(t, tc.want, v)
				if tc.wantErr == "" {
					require.NoError(t, err)
					return
				}
				assert.EqualError(t, err, tc.wantErr)
				for _, e := range tc.errs {
					assert.ErrorIs(t, err, e)
				}
			})
		})
	}
}

func TestFirstLosersSeeWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cause error
		v, err := group.First(t.Context(),
			func(ctx context.Context) (int, error) { <-ctx.Done(); cause = context.Cause(ctx); return 0, ctx.Err() },
			func(ctx context.Context) (int, error) { time.Sleep(time.Millisecond); return 7, nil },
		)
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.ErrorContains(t, cause, "another function succeeded")
	})
}

func TestFirstNoFns(t *testing.T) {
	v, err := group.First[int](t.Context())
	assert.Zero(t, v)
	assert.EqualError(t, err, "group: First: no functions given")
}

func TestFirstNilFn(t *testing.T) {
	assert.PanicsWithValue(t, "group: nil function", func() {
		_, _ = group.First(t.Context(), func(context.Context) (int, error) { return 1, nil }, nil)
	})
}

func TestFirstPanic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fn     func(context.Context) (int, error)
		goexit bool
	}{
		{"panic", func(context.Context) (int, error) { panic(fmt.Sprint("first ", "boom")) }, false},
		{"goexit", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var p any
				func() {
					defer func() { p = recover() }()
					_, _ = group.First(t.Context(),
						func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
						tc.fn,
					)
				}()
				pe, ok := p.(*group.PanicError)
				require.True(t, ok, "got %T", p)
				assert.Equal(t, tc.goexit, pe.Goexit)
			})
		})
	}
}

// TestFirstReturnsParentCause checks that when ctx is cancelled with a
// cause, First reports the cause once, as Map and Group do, not each
// function's context.Canceled.
func TestFirstReturnsParentCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("shutting down")
		ctx, cancel := context.WithCancelCause(t.Context())
		wait := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
		fail := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, errE1 }
		go func() { time.Sleep(time.Second); cancel(cause) }()
		_, err := group.First(ctx, wait, fail, wait)
		require.ErrorIs(t, err, cause)
		assert.ErrorIs(t, err, errE1)
		assert.NotErrorIs(t, err, context.Canceled)
		assert.EqualError(t, err, "shutting down\ngroup: function 1: e1")
	})
}

var errE1 = errors.New("e1")
