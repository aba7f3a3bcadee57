package limiter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// bulkCall is a Do call started in its own goroutine whose fn blocks until
// release is closed.
type bulkCall struct {
	started chan struct{} // closed when fn starts
	release chan struct{} // close to let fn return
	result  chan error
}

func bulkStart(ctx context.Context, b *limiter.Bulkhead) *bulkCall {
	c := &bulkCall{started: make(chan struct{}), release: make(chan struct{}), result: make(chan error, 1)}
	go func() {
		c.result <- b.Do(ctx, func(context.Context) error {
			close(c.started)
			<-c.release
			return nil
		})
	}()
	return c
}

func (c *bulkCall) isRunning() bool {
	select {
	case <-c.started:
		return true
	default:
		return false
	}
}

func TestBulkheadBadConfigPanics(t *testing.T) {
	tests := []struct {
		maxConcurrent, maxQueue int
		want                    string
	}{
		{0, 1, "limiter: NewBulkhead(maxConcurrent=0): must be at least 1"},
		{-3, 1, "limiter: NewBulkhead(maxConcurrent=-3): must be at least 1"},
		{1, -1, "limiter: NewBulkhead(maxQueue=-1): must not be negative"},
	}
	for _, tt := range tests {
		assert.PanicsWithValue(t, tt.want, func() { limiter.NewBulkhead(tt.maxConcurrent, tt.maxQueue) })
	}
}

// TestBulkheadQueueBound fills the slots and the queue and checks that the
// next caller is rejected at once, that queued callers run in FIFO order as
// slots free up, and the counters.
func TestBulkheadQueueBound(t *testing.T) {
	for _, maxQueue := range []int{0, 1, 3} {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			b := limiter.NewBulkhead(2, maxQueue)
			var calls []*bulkCall
			for range 2 + maxQueue {
				calls = append(calls, bulkStart(ctx, b))
				synctest.Wait() // in order
			}
			assert.Equal(t, limiter.BulkheadStats{Running: 2, Queued: maxQueue}, bulkGauges(b.Stats()))

			called := false
			err := b.Do(ctx, func(context.Context) error { called = true; return nil })
			assert.ErrorIs(t, err, limiter.ErrFull)
			assert.False(t, called)
			assert.Equal(t, limiter.BulkheadStats{Running: 2, Queued: maxQueue, Rejected: 1}, bulkGauges(b.Stats()))

			// Finishing the running calls one by one starts the queued ones
			// in arrival order.
			for i, c := range calls {
				assert.Equal(t, i < 2, c.isRunning(), "call %d", i)
			}
			for i := range calls {
				close(calls[i].release)
				require.NoError(t, <-calls[i].result)
				synctest.Wait()
				for j, c := range calls {
					assert.Equal(t, j <= i+2, c.isRunning(), "after %d done: call %d", i+1, j)
				}
			}
			assert.Equal(t, limiter.BulkheadStats{Rejected: 1, Completed: int64(2 + maxQueue)}, bulkGauges(b.Stats()))
		})
	}
}

// TestBulkheadCancelWhileQueued checks that a queued caller whose ctx ends
// leaves at once with the cause, without running fn, and frees its place in
// the queue for someone else.
func TestBulkheadCancelWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := limiter.NewBulkhead(1, 1)
		running := bulkStart(context.Background(), b)
		synctest.Wait()
		cause := errors.New("client went away")
		ctx, cancel := context.WithCancelCause(context.Background())
		queued := bulkStart(ctx, b)
		synctest.Wait()
		assert.ErrorIs(t, b.Do(context.Background(), func(context.Context) error { panic("ran") }), limiter.ErrFull)

		cancel(cause)
		assert.Same(t, cause, <-queued.result)
		assert.False(t, queued.isRunning())
		assert.Equal(t, limiter.BulkheadStats{Running: 1, Rejected: 1}, bulkGauges(b.Stats()))

		next := bulkStart(context.Background(), b) // the queue slot is free again
		synctest.Wait()
		assert.Equal(t, limiter.BulkheadStats{Running: 1, Queued: 1, Rejected: 1}, bulkGauges(b.Stats()))
		close(running.release)
		close(next.release)
		require.NoError(t, <-running.result)
		require.NoError(t, <-next.result)
		assert.Equal(t, limiter.BulkheadStats{Rejected: 1, Completed: 2}, bulkGauges(b.Stats()))
	})
}

func TestBulkheadDo(t *testing.T) {
	b := limiter.NewBulkhead(1, 0)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	errFn := errors.New("fn failed")

	err := b.Do(ctx, func(got context.Context) error {
		assert.Equal(t, "v", got.Value(key{}), "fn gets the caller's ctx")
		return errFn
	})
	assert.Same(t, errFn, err, "fn's error comes back unchanged")

	assert.PanicsWithValue(t, "boom", func() {
		_ = b.Do(ctx, func(context.Context) error { panic("boom") })
	})
	assert.Equal(t, limiter.BulkheadStats{Completed: 2}, bulkGauges(b.Stats()), "the panic freed the slot")

	done, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	err = b.Do(done, func(context.Context) error { called = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
	assert.Equal(t, limiter.BulkheadStats{Completed: 2}, bulkGauges(b.Stats()))
}

// TestBulkheadConcurrent hammers a bulkhead and checks that no more than
// maxConcurrent functions ever run at once and that every call is accounted
// for as completed or rejected.
func TestBulkheadConcurrent(t *testing.T) {
	const (
		maxConcurrent = 3
		callers       = 16
		calls         = 200
	)
	b := limiter.NewBulkhead(maxConcurrent, 4)
	var (
		mu              sync.Mutex
		running, peak   int
		ok, full, other int
	)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range calls {
				err := b.Do(context.Background(), func(context.Context) error {
					mu.Lock()
					running++
					peak = max(peak, running)
					mu.Unlock()
					mu.Lock()
					running--
					mu.Unlock()
					return nil
				})
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, limiter.ErrFull):
					full++
				default:
					other++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, peak, maxConcurrent)
	assert.Zero(t, other)
	assert.Equal(t, callers*calls, ok+full)
	assert.Equal(t, limiter.BulkheadStats{Rejected: int64(full), Completed: int64(ok)}, bulkGauges(b.Stats()))
}
