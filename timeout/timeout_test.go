package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/timeout"
)

var errBoom = errors.New("boom")

// waitDone is a fn that returns ctx's error once ctx is done.
func waitDone(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestDoWhoseDeadline runs fn until its context ends, for each way it can
// end, and checks which error Do returns and what fn saw.
func TestDoWhoseDeadline(t *testing.T) {
	errStop := errors.New("caller stopped")
	tests := []struct {
		name string
		// parent returns the caller's context; it may end it at any time.
		parent      func(t *testing.T) context.Context
		d           time.Duration
		wantAfter   time.Duration
		wantTimeout bool  // ErrTimeout, with Duration d
		wantErr     error // else Do returns exactly this
		wantCause   error // context.Cause inside fn once done
	}{
		{
			name:        "our deadline",
			parent:      func(*testing.T) context.Context { return context.Background() },
			d:           time.Second,
			wantAfter:   time.Second,
			wantTimeout: true,
			wantCause:   timeout.ErrTimeout,
		},
		{
			name: "our deadline before the caller's",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			d:           time.Second,
			wantAfter:   time.Second,
			wantTimeout: true,
			wantCause:   timeout.ErrTimeout,
		},
		{
			name: "caller's deadline first",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			d:         2 * time.Second,
			wantAfter: time.Second,
			wantErr:   context.DeadlineExceeded,
			wantCause: context.DeadlineExceeded,
		},
		{
			name: "caller's deadline equal to ours",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			d:         time.Second,
			wantAfter: time.Second,
			wantErr:   context.DeadlineExceeded,
		},
		{
			name: "caller's deadline first, with a cause",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errStop)
				t.Cleanup(cancel)
				return ctx
			},
			d:         2 * time.Second,
			wantAfter: time.Second,
			wantErr:   context.DeadlineExceeded,
			wantCause: errStop,
		},
		{
			name: "caller cancels first",
			parent: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancelCause(context.Background())
				time.AfterFunc(500*time.Millisecond, func() { cancel(errStop) })
				return ctx
			},
			d:         time.Second,
			wantAfter: 500 * time.Millisecond,
			wantErr:   context.Canceled,
			wantCause: errStop,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var cause error
				err := timeout.Do(tt.parent(t), tt.d, func(ctx context.Context) error {
					<-ctx.Done()
					cause = context.Cause(ctx)
					return ctx.Err()
				})
				assert.Equal(t, tt.wantAfter, time.Since(start))
				if tt.wantCause != nil {
					assert.Equal(t, tt.wantCause, cause)
				}
				if !tt.wantTimeout {
					assert.Equal(t, tt.wantErr, err)
					assert.NotErrorIs(t, err, timeout.ErrTimeout)
					return
				}
				require.ErrorIs(t, err, timeout.ErrTimeout)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				var te *timeout.Error
				require.ErrorAs(t, err, &te)
				assert.Equal(t, tt.d, te.Duration)
				assert.Equal(t, context.DeadlineExceeded, te.Err)
				assert.Equal(t, "timeout: "+tt.d.String()+" deadline exceeded", err.Error())
			})
		})
	}
}

// TestDoResult checks how fn's own result is passed through.
func TestDoResult(t *testing.T) {
	tests := []struct {
		name        string
		fn          func(ctx context.Context) error
		wantTimeout bool
		wantErr     error
	}{
		{"success", func(context.Context) error { return nil }, false, nil},
		{"error before the deadline", func(context.Context) error { return errBoom }, false, errBoom},
		{"success at the deadline", func(ctx context.Context) error { <-ctx.Done(); return nil }, false, nil},
		{"success after the deadline", func(context.Context) error { time.Sleep(2 * time.Second); return nil }, false, nil},
		{"own error after the deadline", func(ctx context.Context) error { <-ctx.Done(); return errBoom }, true, errBoom},
		{"cause after the deadline", func(ctx context.Context) error { <-ctx.Done(); return context.Cause(ctx) }, true, timeout.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				err := timeout.Do(context.Background(), time.Second, tt.fn)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				} else {
					assert.NoError(t, err)
				}
				var te *timeout.Error
				if !tt.wantTimeout {
					assert.False(t, errors.As(err, &te))
					return
				}
				require.ErrorAs(t, err, &te)
				assert.Equal(t, time.Second, te.Duration)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			})
		})
	}
}

// TestDoDeadline checks the deadline fn's context has: d away, or the
// caller's when that is earlier.
func TestDoDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		remaining := func(ctx context.Context, d time.Duration) time.Duration {
			var left time.Duration
			require.NoError(t, timeout.Do(ctx, d, func(ctx context.Context) error {
				left, _ = timeout.Remaining(ctx)
				return nil
			}))
			return left
		}
		assert.Equal(t, time.Second, remaining(context.Background(), time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		assert.Equal(t, 500*time.Millisecond, remaining(ctx, time.Second))
		assert.Equal(t, 200*time.Millisecond, remaining(ctx, 200*time.Millisecond))
	})
}

// TestDoNested checks that nested calls each report only their own deadline.
func TestDoNested(t *testing.T) {
	tests := []struct {
		name         string
		outer, inner time.Duration
		wantInner    bool // the inner call's *Error reaches the caller
	}{
		{"inner shorter", 2 * time.Second, time.Second, true},
		{"outer shorter", time.Second, 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var innerErr error
				err := timeout.Do(context.Background(), tt.outer, func(ctx context.Context) error {
					innerErr = timeout.Do(ctx, tt.inner, waitDone)
					if tt.wantInner {
						return nil // the outer call succeeds
					}
					return innerErr
				})
				var te *timeout.Error
				if tt.wantInner {
					require.NoError(t, err)
					require.ErrorAs(t, innerErr, &te)
					assert.Equal(t, tt.inner, te.Duration)
					return
				}
				assert.Equal(t, context.DeadlineExceeded, innerErr, "the inner call reports the outer deadline unchanged")
				require.ErrorAs(t, err, &te)
				assert.Equal(t, tt.outer, te.Duration)
			})
		})
	}
}

// TestDoNotPositive checks that Do and Get do not call fn when d <= 0.
func TestDoNotPositive(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		t.Run(d.String(), func(t *testing.T) {
			called := false
			err := timeout.Do(context.Background(), d, func(context.Context) error { called = true; return nil })
			assert.False(t, called)
			var te *timeout.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, d, te.Duration)
			assert.Nil(t, te.Err)
			assert.ErrorIs(t, err, timeout.ErrTimeout)
			assert.ErrorIs(t, err, context.DeadlineExceeded)

			v, err := timeout.Get(context.Background(), d, func(context.Context) (int, error) { called = true; return 1, nil })
			assert.False(t, called)
			assert.Zero(t, v)
			assert.ErrorIs(t, err, timeout.ErrTimeout)

			// When the caller's context is already done, that is what fn
			// would have seen first.
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(errBoom)
			err = timeout.Do(ctx, d, func(context.Context) error { called = true; return nil })
			assert.False(t, called)
			assert.Equal(t, errBoom, err)
		})
	}
}

// TestDoSameGoroutine checks that fn runs in the caller's goroutine: a panic
// in fn reaches the caller's recover unchanged.
func TestDoSameGoroutine(t *testing.T) {
	assert.PanicsWithValue(t, "in fn", func() {
		_ = timeout.Do(context.Background(), time.Second, func(context.Context) error { panic("in fn") })
	})
	assert.PanicsWithValue(t, "in fn", func() {
		_, _ = timeout.Get(context.Background(), time.Second, func(context.Context) (int, error) { panic("in fn") })
	})
}

func TestNilArgumentsPanic(t *testing.T) {
	var nilCtx context.Context
	ok := func(context.Context) error { return nil }
	okInt := func(context.Context) (int, error) { return 1, nil }
	assert.PanicsWithValue(t, "timeout: nil function", func() {
		_ = timeout.Do(context.Background(), time.Second, nil)
	})
	assert.PanicsWithValue(t, "timeout: nil function", func() {
		_, _ = timeout.Get[int](context.Background(), time.Second, nil)
	})
	assert.PanicsWithValue(t, "timeout: nil context", func() { _ = timeout.Do(nilCtx, time.Second, ok) })
	assert.PanicsWithValue(t, "timeout: nil context", func() { _, _ = timeout.Get(nilCtx, time.Second, okInt) })
	// d <= 0 is no misuse: it follows context.WithTimeout (already expired).
	assert.ErrorIs(t, timeout.Do(context.Background(), 0, ok), timeout.ErrTimeout)
	assert.ErrorIs(t, timeout.Do(context.Background(), -time.Second, ok), timeout.ErrTimeout)
}

// TestGet checks that Get passes fn's value and error through, and reports
// its own deadline as Do does.
func TestGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v, err := timeout.Get(context.Background(), time.Second, func(context.Context) (string, error) { return "ok", nil })
		assert.NoError(t, err)
		assert.Equal(t, "ok", v)

		v, err = timeout.Get(context.Background(), time.Second, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "partial", ctx.Err()
		})
		assert.Equal(t, "partial", v)
		var te *timeout.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, time.Second, te.Duration)

		v, err = timeout.Get(context.Background(), time.Second, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "late", nil
		})
		assert.NoError(t, err, "success at the deadline wins")
		assert.Equal(t, "late", v)
	})
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *timeout.Error
		want string
	}{
		{&timeout.Error{Duration: time.Second}, "timeout: 1s deadline exceeded"},
		{&timeout.Error{Duration: time.Second, Err: context.DeadlineExceeded}, "timeout: 1s deadline exceeded"},
		{&timeout.Error{Duration: time.Second, Err: timeout.ErrTimeout}, "timeout: 1s deadline exceeded"},
		{&timeout.Error{Duration: 2 * time.Millisecond, Err: errBoom}, "timeout: 2ms deadline exceeded: boom"},
		// The end that says the same again is cut.
		{&timeout.Error{Duration: time.Second, Err: fmt.Errorf("query: %w", timeout.ErrTimeout)}, "timeout: 1s deadline exceeded: query"},
		{&timeout.Error{Duration: time.Second, Err: fmt.Errorf("query: %w", context.DeadlineExceeded)}, "timeout: 1s deadline exceeded: query"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
		assert.True(t, tt.err.Timeout())
	}
	assert.ErrorIs(t, timeout.ErrTimeout, context.DeadlineExceeded)
	assert.NotErrorIs(t, context.DeadlineExceeded, timeout.ErrTimeout)
	assert.NotErrorIs(t, &timeout.Error{Duration: time.Second}, context.Canceled)
}

// TestDoAllocs checks that Do allocates no more than the context it makes.
func TestDoAllocs(t *testing.T) {
	fn := func(context.Context) error { return nil }
	floor := testing.AllocsPerRun(100, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = fn(ctx)
		cancel()
	})
	do := testing.AllocsPerRun(100, func() {
		_ = timeout.Do(context.Background(), time.Second, fn)
	})
	assert.LessOrEqual(t, do, floor)
}
