package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/pool"
)

func closeOK[T any](t *testing.T, p *pool.Pool[T]) {
	t.Helper()
	require.NoError(t, p.Close(context.Background()))
}

func TestAcquireReleaseReuses(t *testing.T) {
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(2))
	ctx := context.Background()

	r1, err := p.Acquire(ctx)
	require.NoError(t, err)
	r2, err := p.Acquire(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, r1.Value().id, r2.Value().id)
	st := p.Stats()
	assert.Equal(t, 2, st.InUse)
	assert.Equal(t, 2, st.Total)
	assert.Equal(t, int64(2), st.Created)

	id := r2.Value().id
	r2.Release()
	r3, err := p.Acquire(ctx)
	require.NoError(t, err)
	assert.Equal(t, id, r3.Value().id, "the released resource is reused")
	r3.Release()
	r1.Release()

	st = p.Stats()
	assert.Equal(t, pool.Stats{MaxSize: 2, Idle: 2, Total: 2, Acquired: 3, Created: 2, WaitCount: st.WaitCount, WaitTime: st.WaitTime}, st)
	closeOK(t, p)
	st = p.Stats()
	assert.Equal(t, int64(2), st.DestroyedClosed)
	assert.Equal(t, int64(2), st.Destroyed)
	assert.Zero(t, st.Total)
	tr.verify(t, 2)
}

func TestTryAcquire(t *testing.T) {
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(1))
	r, ok := p.TryAcquire()
	assert.False(t, ok, "TryAcquire never creates")
	assert.Nil(t, r)

	r, err := p.Acquire(context.Background())
	require.NoError(t, err)
	_, ok = p.TryAcquire()
	assert.False(t, ok, "the only resource is in use")
	r.Release()
	r, ok = p.TryAcquire()
	require.True(t, ok)
	r.Release()
	closeOK(t, p)
	_, ok = p.TryAcquire()
	assert.False(t, ok, "closed")
	tr.verify(t, 1)
}

// TestWaitersFIFO queues callers one by one on a full pool and checks that
// releases serve them in the order they arrived.
func TestWaitersFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(2))
		ctx := context.Background()
		a, err := p.Acquire(ctx)
		require.NoError(t, err)
		b, err := p.Acquire(ctx)
		require.NoError(t, err)

		const n = 8
		var mu sync.Mutex
		var order []int
		release := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := p.Acquire(ctx)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				<-release
				r.Release()
			})
			synctest.Wait() // i is queued before i+1 starts
		}
		assert.Equal(t, n, p.Stats().Waiting)
		a.Release()
		synctest.Wait()
		b.Release()
		synctest.Wait()
		assert.Equal(t, []int{0, 1}, order)
		for range n {
			release <- struct{}{}
			synctest.Wait()
		}
		wg.Wait()
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, order)
		st := p.Stats()
		assert.Equal(t, int64(n+2), st.WaitCount, "the first two waited for their create")
		assert.Equal(t, int64(2), st.Created, "no resource created beyond MaxSize")
		closeOK(t, p)
		tr.verify(t, 2)
	})
}

// TestCancelWhileCreating checks that an Acquire whose ctx ends while its
// resource is being created returns at once, that the create goes on and
// its resource lands in the pool, and that Close waits for a create in
// flight.
func TestCancelWhileCreating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		tr.gate = make(chan struct{})
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(2))

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := p.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "Acquire returned when ctx ended")
		st := p.Stats()
		assert.Equal(t, 1, st.Creating)
		assert.Equal(t, int64(1), st.Cancelled)

		// A second caller adopts the create in flight instead of starting
		// another one.
		done := make(chan *pool.Resource[*conn])
		go func() {
			r, err := p.Acquire(context.Background())
			assert.NoError(t, err)
			done <- r
		}()
		synctest.Wait()
		assert.Equal(t, 1, p.Stats().Creating, "no second create for the second caller")
		tr.gate <- struct{}{}
		r := <-done
		assert.Equal(t, 1, r.Value().id)
		r.Release()

		// Cancel again while creating, let the create finish: it goes idle.
		ctx2, cancel2 := context.WithCancel(context.Background())
		r1, _ := p.TryAcquire()
		go func() {
			time.Sleep(time.Millisecond)
			cancel2()
		}()
		_, err = p.Acquire(ctx2) // pool has 1 in use (r1), room for one more
		assert.ErrorIs(t, err, context.Canceled)
		tr.gate <- struct{}{}
		synctest.Wait()
		st = p.Stats()
		assert.Equal(t, 1, st.Idle, "the orphaned create's resource went to the pool")
		assert.Equal(t, int64(2), st.Created)
		r1.Release()

		// Close waits for a create in flight that ignores its context.
		tr.gate = nil
		block := make(chan struct{})
		p2 := pool.New(func(ctx context.Context) (*conn, error) {
			<-block
			return tr.create(ctx)
		}, tr.destroy, pool.MaxSize(1))
		ctx3, cancel3 := context.WithCancel(context.Background())
		cancel3()
		go func() {
			_, err := p2.Acquire(context.Background())
			assert.ErrorIs(t, err, pool.ErrClosed)
		}()
		synctest.Wait()
		closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
		defer cancelClose()
		err = p2.Close(closeCtx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "1 resources still out (0 in use, 1 being created, 0 being destroyed)")
		close(block)
		assert.NoError(t, p2.Close(context.Background()), "the late resource was destroyed")
		assert.Equal(t, int64(1), p2.Stats().DestroyedClosed)
		_, err = p2.Acquire(ctx3)
		assert.ErrorIs(t, err, context.Canceled, "a done ctx wins over a closed pool")
		closeOK(t, p)
		tr.verify(t, 3)
	})
}

// TestCreateErrorGoesToItsWaiter checks that a failing create's error goes
// to the caller it was started for, and that the callers behind it keep
// their places.
func TestCreateErrorGoesToItsWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDial := errors.New("dial failed")
		tr := newTracker()
		tr.fail = func(n int) error {
			if n == 2 {
				return errDial
			}
			return nil
		}
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(1))
		held, err := p.Acquire(context.Background()) // create 1
		require.NoError(t, err)

		results := make([]error, 3)
		var mu sync.Mutex
		var served []int
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				r, err := p.Acquire(context.Background())
				results[i] = err
				if err == nil {
					mu.Lock()
					served = append(served, i)
					mu.Unlock()
					r.Release()
				}
			})
			synctest.Wait()
		}
		assert.Equal(t, 0, p.Stats().Creating, "full: no create while the pool is at MaxSize")
		held.Destroy() // room for one: create 2, for waiter 0, fails
		wg.Wait()
		assert.ErrorIs(t, results[0], errDial)
		// Create 3, started for waiter 1 as soon as 2 failed, succeeds;
		// waiter 2 gets the resource when 1 releases it.
		assert.Equal(t, []int{1, 2}, served)
		assert.NoError(t, results[1])
		assert.NoError(t, results[2])
		st := p.Stats()
		assert.Equal(t, int64(1), st.CreateErrors)
		assert.Equal(t, int64(2), st.Created)
		assert.Equal(t, int64(1), st.DestroyedBroken)
		closeOK(t, p)
		tr.verify(t, 1)
	})
}

// TestNoStampede checks that the pool creates no more resources than
// callers wait for, and that the waiters' creates are all that run.
func TestNoStampede(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		tr.gate = make(chan struct{})
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(10))
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				r, err := p.Acquire(context.Background())
				if assert.NoError(t, err) {
					r.Release()
				}
			})
		}
		synctest.Wait()
		assert.Equal(t, 3, p.Stats().Creating)
		// The first create to finish serves a waiter, which releases its
		// resource to the next: the other two creates go idle.
		tr.gate <- struct{}{}
		synctest.Wait()
		assert.Equal(t, 0, p.Stats().Waiting)
		tr.gate <- struct{}{}
		tr.gate <- struct{}{}
		wg.Wait()
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 3, st.Idle)
		assert.Equal(t, int64(3), st.Created)
		_, _, peak := tr.stats()
		assert.Equal(t, 3, peak)

		// Many waiters on a small pool: creates are bounded by MaxSize.
		p2 := pool.New(tr.create, tr.destroy, pool.MaxSize(4))
		for range 50 {
			wg.Go(func() {
				r, err := p2.Acquire(context.Background())
				if assert.NoError(t, err) {
					r.Release()
				}
			})
		}
		synctest.Wait()
		assert.Equal(t, 4, p2.Stats().Creating, "%+v", p2.Stats())
		assert.Equal(t, 50, p2.Stats().Waiting)
		for range 4 {
			tr.gate <- struct{}{}
		}
		wg.Wait()
		synctest.Wait()
		assert.Equal(t, int64(4), p2.Stats().Created)
		closeOK(t, p)
		closeOK(t, p2)
		tr.verify(t, 7)
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(3))
		ctx := context.Background()
		var held []*pool.Resource[*conn]
		for range 3 {
			r, err := p.Acquire(ctx)
			require.NoError(t, err)
			held = append(held, r)
		}
		held[2].Release() // one idle
		held = held[:2]
		r, err := p.Acquire(ctx)
		require.NoError(t, err)
		held = append(held, r)

		// Waiters blocked on the full pool get ErrClosed at once.
		var wg sync.WaitGroup
		kept := make(chan *pool.Resource[*conn], 1)
		for i := range 4 {
			wg.Go(func() {
				r, err := p.Acquire(ctx)
				if i == 0 {
					assert.NoError(t, err)
					kept <- r
					return
				}
				assert.ErrorIs(t, err, pool.ErrClosed)
			})
			synctest.Wait()
		}
		held[2].Release() // handed to the first waiter, which keeps it
		held[2] = <-kept
		synctest.Wait()
		assert.Equal(t, 3, p.Stats().Waiting)

		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		err = p.Close(closeCtx)
		assert.Equal(t, 5*time.Second, time.Since(start), "Close returned when its ctx ended")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.ErrorContains(t, err, "pool: Close: 3 resources still out (3 in use, 0 being created, 0 being destroyed)")
		wg.Wait()

		_, err = p.Acquire(ctx)
		assert.ErrorIs(t, err, pool.ErrClosed)
		held[0].Release()
		held[1].Destroy()
		st := p.Stats()
		assert.Equal(t, 1, st.InUse)
		assert.Equal(t, int64(1), st.DestroyedClosed)
		assert.Equal(t, int64(1), st.DestroyedBroken)

		// A second Close waits for the last one.
		go func() {
			time.Sleep(time.Minute)
			held[2].Release()
		}()
		assert.NoError(t, p.Close(ctx))
		assert.Equal(t, time.Minute+5*time.Second, time.Since(start))
		assert.Equal(t, int64(2), p.Stats().DestroyedClosed)
		assert.NoError(t, p.Close(ctx), "Close again")
		tr.verify(t, 3)
	})
}

// TestCloseIdleOnly checks that Close with nothing out returns nil at once
// even with a ctx already done.
func TestCloseIdleOnly(t *testing.T) {
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(2))
	r, err := p.Acquire(context.Background())
	require.NoError(t, err)
	r.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.NoError(t, p.Close(ctx))
	tr.verify(t, 2)
}

func TestWith(t *testing.T) {
	errApp := errors.New("not found")
	errIO := errors.New("connection reset")
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(1),
		pool.Broken(func(err error) bool { return errors.Is(err, errIO) }))
	ctx := context.Background()
	var ids []int
	use := func(err error) func(context.Context, *conn) error {
		return func(_ context.Context, c *conn) error {
			ids = append(ids, c.id)
			return err
		}
	}
	require.NoError(t, pool.With(ctx, p, use(nil)))
	assert.ErrorIs(t, pool.With(ctx, p, use(errApp)), errApp, "an ordinary error is returned")
	assert.Equal(t, []int{1, 1}, ids, "and the resource released")

	err := pool.With(ctx, p, use(fmt.Errorf("read: %w: %w", pool.ErrBroken, errIO)))
	assert.ErrorIs(t, err, errIO)
	require.NoError(t, pool.With(ctx, p, use(nil)))
	assert.Equal(t, []int{1, 1, 1, 2}, ids, "ErrBroken destroys")

	assert.ErrorIs(t, pool.With(ctx, p, use(errIO)), errIO)
	require.NoError(t, pool.With(ctx, p, use(nil)))
	assert.Equal(t, []int{1, 1, 1, 2, 2, 3}, ids, "the classifier destroys")

	assert.PanicsWithValue(t, "boom", func() {
		_ = pool.With(ctx, p, func(context.Context, *conn) error { panic("boom") })
	})
	require.NoError(t, pool.With(ctx, p, use(nil)))
	assert.Equal(t, 4, ids[len(ids)-1], "a panic destroys")
	st := p.Stats()
	assert.Equal(t, int64(3), st.DestroyedBroken)
	assert.Equal(t, 1, st.Idle)

	closeOK(t, p)
	assert.ErrorIs(t, pool.With(ctx, p, use(nil)), pool.ErrClosed)
	tr.verify(t, 1)
}

// TestCreatePanic checks that a panic in create re-panics in the Acquire it
// was for, and leaves the pool consistent.
func TestCreatePanic(t *testing.T) {
	n := 0
	p := pool.New(func(context.Context) (int, error) {
		n++
		if n == 1 {
			panic("create failed badly")
		}
		return n, nil
	}, nil, pool.MaxSize(1))
	defer closeOK(t, p)
	func() {
		defer func() {
			v := recover()
			require.NotNil(t, v)
			assert.Contains(t, fmt.Sprint(v), "create failed badly")
		}()
		_, _ = p.Acquire(context.Background())
	}()
	r, err := p.Acquire(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, r.Value())
	r.Release()
	assert.Equal(t, int64(1), p.Stats().CreateErrors)
}

// TestCreateContext checks what create's context carries: the values of
// the Acquire's, not its cancellation, and ErrClosed once the pool closes.
func TestCreateContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type key struct{}
		causes := make(chan error, 1)
		p := pool.New(func(ctx context.Context) (int, error) {
			assert.Equal(t, "v", ctx.Value(key{}))
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return 0, ctx.Err()
		}, nil, pool.MaxSize(1))
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		_, err := p.Acquire(ctx)
		assert.ErrorIs(t, err, context.Canceled)
		synctest.Wait()
		assert.Equal(t, 1, p.Stats().Creating, "create not cancelled with the Acquire")
		require.NoError(t, p.Close(context.Background()))
		assert.ErrorIs(t, <-causes, pool.ErrClosed)
		assert.Equal(t, int64(1), p.Stats().CreateErrors)
	})
}

func TestMisusePanics(t *testing.T) {
	create := func(context.Context) (int, error) { return 1, nil }
	ctx := context.Background()
	tests := []struct {
		name string
		want string
		fn   func()
	}{
		{"nil create", "pool: New: nil create function", func() { pool.New[int](nil, nil) }},
		{"MaxSize(0)", "pool: MaxSize(0): n must be at least 1", func() { pool.MaxSize(0) }},
		{"MinIdle(-1)", "pool: MinIdle(-1): n must not be negative", func() { pool.MinIdle(-1) }},
		{"IdleTTL(-1s)", "pool: IdleTTL(-1s): d must not be negative", func() { pool.IdleTTL(-time.Second) }},
		{"MaxLifetime(-1s)", "pool: MaxLifetime(-1s): d must not be negative", func() { pool.MaxLifetime(-time.Second) }},
		{"CheckAfter(-1s)", "pool: CheckAfter(-1s): d must not be negative", func() { pool.CheckAfter(-time.Second) }},
		{"Check(nil)", "pool: Check(nil): fn must not be nil", func() { pool.Check[int](nil) }},
		{"Broken(nil)", "pool: Broken(nil): fn must not be nil", func() { pool.Broken(nil) }},
		{"nil Option", "pool: New: nil Option", func() { pool.New(create, nil, nil) }},
		{"MinIdle above MaxSize", "pool: New: MinIdle(5) exceeds MaxSize(4)", func() {
			pool.New(create, nil, pool.MaxSize(4), pool.MinIdle(5))
		}},
		{"Check of another type", "pool: New: Check(func(context.Context, string) error) given to a Pool of int", func() {
			pool.New(create, nil, pool.Check(func(context.Context, string) error { return nil }))
		}},
		{"zero Pool Acquire", "pool: Pool used without New", func() { _, _ = new(pool.Pool[int]).Acquire(ctx) }},
		{"zero Pool TryAcquire", "pool: Pool used without New", func() { new(pool.Pool[int]).TryAcquire() }},
		{"zero Pool Close", "pool: Pool used without New", func() { _ = new(pool.Pool[int]).Close(ctx) }},
		{"zero Pool Stats", "pool: Pool used without New", func() { new(pool.Pool[int]).Stats() }},
		{"zero Resource", "pool: Resource used without Pool.Acquire", func() { new(pool.Resource[int]).Release() }},
		{"nil context", "pool: nil context", func() {
			p := pool.New(create, nil)
			defer p.Close(ctx)
			//lint:ignore SA1012 the misuse under test
			_, _ = p.Acquire(nil)
		}},
		{"nil function", "pool: nil function", func() {
			p := pool.New(create, nil)
			defer p.Close(ctx)
			_ = pool.With[int](ctx, p, nil)
		}},
		{"double Release", "pool: Release of a Resource that is not in use (released or destroyed twice?)", func() {
			p := pool.New(create, nil)
			defer p.Close(ctx)
			r, _ := p.Acquire(ctx)
			r.Release()
			r.Release()
		}},
		{"Destroy after Release", "pool: Destroy of a Resource that is not in use (released or destroyed twice?)", func() {
			p := pool.New(create, nil)
			defer p.Close(ctx)
			r, _ := p.Acquire(ctx)
			r.Release()
			r.Destroy()
		}},
		{"Release after Destroy", "pool: Release of a Resource that is not in use (released or destroyed twice?)", func() {
			p := pool.New(create, nil)
			defer p.Close(ctx)
			r, _ := p.Acquire(ctx)
			r.Destroy()
			r.Release()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.want, tt.fn)
		})
	}
}

// TestDefaultMaxSize checks the default bound and that MinIdle raises it.
func TestDefaultMaxSize(t *testing.T) {
	create := func(context.Context) (int, error) { return 1, nil }
	p := pool.New(create, nil)
	assert.GreaterOrEqual(t, p.Stats().MaxSize, 4)
	closeOK(t, p)
	p = pool.New(create, nil, pool.MinIdle(100))
	assert.Equal(t, 100, p.Stats().MaxSize)
	closeOK(t, p)
}
