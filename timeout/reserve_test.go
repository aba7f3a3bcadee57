package timeout_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/timeout"
)

func TestRemaining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		left, ok := timeout.Remaining(context.Background())
		assert.False(t, ok)
		assert.Zero(t, left)

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		left, ok = timeout.Remaining(ctx)
		assert.True(t, ok)
		assert.Equal(t, 3*time.Second, left)

		time.Sleep(time.Second)
		left, _ = timeout.Remaining(ctx)
		assert.Equal(t, 2*time.Second, left)

		time.Sleep(5 * time.Second)
		left, ok = timeout.Remaining(ctx)
		assert.True(t, ok)
		assert.Zero(t, left, "never negative")
	})
}

func TestReserve(t *testing.T) {
	tests := []struct {
		name      string
		parent    time.Duration // the parent's timeout; 0 for none
		d         time.Duration
		wantDone  time.Duration // when the child ends; -1 for never on its own
		wantCause string
	}{
		{"enough time", 10 * time.Second, 3 * time.Second, 7 * time.Second,
			"timeout: Reserve(3s): deadline reached, 3s kept back before the parent's deadline"},
		{"exactly enough", 3 * time.Second, 3 * time.Second, 0,
			"timeout: Reserve(3s): deadline reached, 3s kept back before the parent's deadline"},
		{"too little time", 2 * time.Second, 3 * time.Second, 0,
			"timeout: Reserve(3s): only 2s left before the parent's deadline"},
		{"nothing kept", 2 * time.Second, 0, 2 * time.Second, "context deadline exceeded"},
		{"no deadline", 0, 3 * time.Second, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				parent := context.Background()
				if tt.parent > 0 {
					var cancel context.CancelFunc
					parent, cancel = context.WithTimeout(parent, tt.parent)
					defer cancel()
				}
				start := time.Now()
				ctx, cancel := timeout.Reserve(parent, tt.d)
				defer cancel()

				if tt.wantDone < 0 {
					_, ok := ctx.Deadline()
					assert.False(t, ok)
					cancel()
					assert.Equal(t, context.Canceled, ctx.Err())
					return
				}
				dl, ok := ctx.Deadline()
				require.True(t, ok)
				pdl, _ := parent.Deadline()
				assert.Equal(t, pdl.Add(-tt.d), dl)

				<-ctx.Done()
				assert.Equal(t, tt.wantDone, time.Since(start))
				assert.Equal(t, context.DeadlineExceeded, ctx.Err())
				cause := context.Cause(ctx)
				assert.ErrorIs(t, cause, context.DeadlineExceeded)
				assert.NotErrorIs(t, cause, timeout.ErrTimeout)
				assert.Equal(t, tt.d == 0, cause == context.DeadlineExceeded, "the parent's cause only when nothing is kept")
				assert.EqualError(t, cause, tt.wantCause)
				if tt.wantDone < tt.parent {
					assert.NoError(t, parent.Err(), "the reserved time is still the parent's")
				}
			})
		})
	}
}

// TestReserveParentEnds checks that a child whose parent ends first has the
// parent's cause.
func TestReserveParentEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancelParent := context.WithTimeout(context.Background(), 10*time.Second)
		ctx, cancel := timeout.Reserve(parent, time.Second)
		defer cancel()
		cancelParent()
		assert.Equal(t, context.Canceled, ctx.Err())
		assert.Equal(t, context.Canceled, context.Cause(ctx))
	})
}

func TestReserveMisuse(t *testing.T) {
	var nilCtx context.Context
	assert.PanicsWithValue(t, "timeout: nil context", func() { timeout.Reserve(nilCtx, time.Second) })

	// A negative d keeps nothing back, as 0 does: call-time durations
	// never panic.
	parent, cancelParent := context.WithTimeout(context.Background(), time.Hour)
	defer cancelParent()
	ctx, cancel := timeout.Reserve(parent, -time.Second)
	defer cancel()
	want, _ := parent.Deadline()
	got, ok := ctx.Deadline()
	assert.True(t, ok)
	assert.Equal(t, want, got)
	assert.NoError(t, ctx.Err())
}
