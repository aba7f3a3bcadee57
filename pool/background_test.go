package pool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/pool"
)

// acquireN acquires n resources.
func acquireN[T any](t *testing.T, p *pool.Pool[T], n int) []*pool.Resource[T] {
	t.Helper()
	rs := make([]*pool.Resource[T], n)
	for i := range rs {
		r, err := p.Acquire(context.Background())
		require.NoError(t, err)
		rs[i] = r
	}
	return rs
}

// sleep advances the bubble's clock by d and lets the pool's goroutines act
// on it.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestIdleTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(4), pool.IdleTTL(time.Minute))
		rs := acquireN(t, p, 3)
		rs[0].Release()
		sleep(30 * time.Second)
		rs[1].Release()
		sleep(20 * time.Second)
		rs[2].Release()

		sleep(10*time.Second - time.Millisecond) // 59.999s after the first release
		assert.Equal(t, 3, p.Stats().Idle)
		sleep(time.Millisecond)
		st := p.Stats()
		assert.Equal(t, 2, st.Idle, "the first expired on time")
		assert.Equal(t, int64(1), st.DestroyedIdle)

		// Reusing a resource restarts its clock.
		r := acquireN(t, p, 1)[0]
		assert.Equal(t, 3, r.Value().id, "the most recently used first")
		r.Release()
		sleep(30 * time.Second) // the second expires
		st = p.Stats()
		assert.Equal(t, 1, st.Idle)
		assert.Equal(t, int64(2), st.DestroyedIdle)
		sleep(30 * time.Second) // the third, released 60s ago
		st = p.Stats()
		assert.Equal(t, 0, st.Idle)
		assert.Equal(t, int64(3), st.DestroyedIdle)
		closeOK(t, p)
		tr.verify(t, 4)
	})
}

func TestIdleTTLKeepsMinIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(5), pool.MinIdle(2), pool.IdleTTL(time.Minute))
		synctest.Wait()
		assert.Equal(t, 2, p.Stats().Idle, "MinIdle filled after New")
		var rs []*pool.Resource[*conn]
		for range 4 {
			rs = append(rs, acquireN(t, p, 1)...)
			synctest.Wait() // the refill tops the idle up to 2 (up to MaxSize)
		}
		for _, r := range rs {
			r.Release()
			sleep(time.Second)
		}
		assert.Equal(t, 5, p.Stats().Idle, "the refill made a fifth while four were out")
		sleep(time.Hour)
		st := p.Stats()
		assert.Equal(t, 2, st.Idle, "IdleTTL stops at MinIdle")
		assert.Equal(t, int64(3), st.DestroyedIdle)
		// The two kept are the two most recently released.
		kept := acquireN(t, p, 2)
		assert.ElementsMatch(t, []int{rs[2].Value().id, rs[3].Value().id}, []int{kept[0].Value().id, kept[1].Value().id})
		for _, r := range kept {
			r.Release()
		}
		closeOK(t, p)
		tr.verify(t, 5)
	})
}

func TestMaxLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(4), pool.MaxLifetime(time.Hour))
		rs := acquireN(t, p, 2)
		rs[0].Release()
		sleep(time.Hour - time.Millisecond)
		assert.Equal(t, 1, p.Stats().Idle)
		sleep(time.Millisecond)
		st := p.Stats()
		assert.Equal(t, 0, st.Idle, "the idle one expired on time")
		assert.Equal(t, int64(1), st.DestroyedExpired)
		rs[1].Release() // expired while in use
		st = p.Stats()
		assert.Equal(t, 0, st.Idle)
		assert.Equal(t, int64(2), st.DestroyedExpired)

		// Acquire never returns an expired resource, whoever gets to it
		// first at the instant it expires.
		r := acquireN(t, p, 1)[0]
		r.Release()
		time.Sleep(time.Hour)
		r = acquireN(t, p, 1)[0]
		assert.Equal(t, 4, r.Value().id)
		assert.Equal(t, int64(3), p.Stats().DestroyedExpired)
		r.Release()
		closeOK(t, p)
		tr.verify(t, 4)
	})
}

// TestMinIdlePaced checks that the MinIdle refill creates one resource at a
// time and waits RefillRetry after a failure.
func TestMinIdlePaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDown := errors.New("backend down")
		tr := newTracker()
		tr.fail = func(n int) error {
			if n == 2 || n == 3 {
				return errDown
			}
			return nil
		}
		slow := func(ctx context.Context) (*conn, error) {
			time.Sleep(time.Second)
			return tr.create(ctx)
		}
		start := time.Now()
		p := pool.New(slow, tr.destroy, pool.MaxSize(5), pool.MinIdle(3))
		at := func(d time.Duration) pool.Stats {
			time.Sleep(time.Until(start.Add(d)))
			synctest.Wait()
			return p.Stats()
		}
		st := at(500 * time.Millisecond)
		assert.Equal(t, 1, st.Creating, "one at a time")
		st = at(1500 * time.Millisecond) // create 1 done, 2 running
		assert.Equal(t, 1, st.Idle)
		assert.Equal(t, 1, st.Creating)
		st = at(2500 * time.Millisecond) // 2 failed at 2s: wait until 3s
		assert.Equal(t, 0, st.Creating)
		assert.Equal(t, int64(1), st.CreateErrors)
		st = at(3500 * time.Millisecond) // 3 running since 3s
		assert.Equal(t, 1, st.Creating)
		st = at(4500 * time.Millisecond) // 3 failed at 4s
		assert.Equal(t, 0, st.Creating)
		st = at(7500 * time.Millisecond) // 4 from 5s to 6s, 5 from 6s to 7s
		assert.Equal(t, 3, st.Idle)
		assert.Equal(t, 0, st.Creating)
		assert.Equal(t, int64(2), st.CreateErrors)
		_, _, peak := tr.stats()
		assert.Equal(t, 1, peak, "never two creates at once")

		// Taking idle resources wakes the refill; it stops at MaxSize.
		rs := acquireN(t, p, 3)
		st = at(8500 * time.Millisecond)
		assert.Equal(t, 1, st.Creating)
		st = at(20 * time.Second)
		assert.Equal(t, 2, st.Idle, "MaxSize 5 caps the refill")
		assert.Equal(t, 5, st.Total)
		for _, r := range rs {
			r.Release()
		}
		closeOK(t, p)
		tr.verify(t, 5)
	})
}

// TestMinIdleReplacesDestroyed checks that a destroyed resource is replaced
// to keep MinIdle.
func TestMinIdleReplacesDestroyed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(2), pool.MinIdle(1))
		synctest.Wait()
		r := acquireN(t, p, 1)[0]
		synctest.Wait()
		assert.Equal(t, 1, p.Stats().Idle, "refilled after the acquire")
		r.Destroy()
		synctest.Wait()
		st := p.Stats()
		assert.Equal(t, 1, st.Idle)
		assert.Equal(t, int64(2), st.Created)
		closeOK(t, p)
		tr.verify(t, 2)
	})
}

func TestCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		var mu sync.Mutex
		bad := map[int]bool{}
		var checked []int
		check := func(ctx context.Context, c *conn) error {
			mu.Lock()
			checked = append(checked, c.id)
			isBad := bad[c.id]
			mu.Unlock()
			if isBad {
				return errors.New("ping: broken pipe")
			}
			return nil
		}
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(2), pool.Check(check))
		r := acquireN(t, p, 1)[0]
		r.Release()
		sleep(999 * time.Millisecond)
		r = acquireN(t, p, 1)[0]
		assert.Empty(t, checked, "idle for less than DefaultCheckAfter: not checked")
		r.Release()
		sleep(pool.DefaultCheckAfter)
		r = acquireN(t, p, 1)[0]
		assert.Equal(t, []int{1}, checked)
		r.Release()

		mu.Lock()
		bad[1] = true
		mu.Unlock()
		sleep(time.Minute)
		r = acquireN(t, p, 1)[0]
		assert.Equal(t, 2, r.Value().id, "the broken one replaced")
		assert.Equal(t, []int{1, 1}, checked)
		st := p.Stats()
		assert.Equal(t, int64(1), st.DestroyedUnhealthy)
		r.Release()

		// TryAcquire checks too.
		mu.Lock()
		bad[2] = true
		mu.Unlock()
		sleep(time.Minute)
		_, ok := p.TryAcquire()
		assert.False(t, ok, "the only idle resource failed its check")
		assert.Equal(t, int64(2), p.Stats().DestroyedUnhealthy)
		closeOK(t, p)
		tr.verify(t, 2)
	})
}

// TestCheckAfterZero checks every reuse, and a check cut short by the
// Acquire's ctx puts the resource back.
func TestCheckAfterZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		checks := 0
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(1), pool.CheckAfter(0),
			pool.Check(func(ctx context.Context, c *conn) error {
				checks++
				if checks == 2 {
					<-ctx.Done() // a slow ping
					return ctx.Err()
				}
				return nil
			}))
		r := acquireN(t, p, 1)[0]
		r.Release()
		r = acquireN(t, p, 1)[0]
		r.Release()
		assert.Equal(t, 1, checks)

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := p.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		st := p.Stats()
		assert.Equal(t, 1, st.Idle, "back in the pool, not destroyed")
		assert.Equal(t, int64(0), st.DestroyedUnhealthy)
		assert.Equal(t, int64(1), st.Cancelled)
		r = acquireN(t, p, 1)[0]
		assert.Equal(t, 1, r.Value().id)
		r.Release()
		closeOK(t, p)
		tr.verify(t, 1)
	})
}

// TestCheckPanics checks that a panicking Check destroys the resource and
// the panic reaches the caller.
func TestCheckPanics(t *testing.T) {
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(1), pool.CheckAfter(0),
		pool.Check(func(context.Context, *conn) error { panic("check exploded") }))
	r := acquireN(t, p, 1)[0]
	r.Release()
	assert.PanicsWithValue(t, "check exploded", func() { _, _ = p.Acquire(context.Background()) })
	st := p.Stats()
	assert.Equal(t, int64(1), st.DestroyedUnhealthy)
	assert.Equal(t, 0, st.Total)
	closeOK(t, p)
	tr.verify(t, 1)
}

// TestCloseStopsBackground checks that Close stops the background
// goroutine, even while it is creating.
func TestCloseStopsBackground(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTracker()
		tr.gate = make(chan struct{}) // the refill blocks until Close cancels it
		p := pool.New(tr.create, tr.destroy, pool.MaxSize(3), pool.MinIdle(2), pool.IdleTTL(time.Second), pool.MaxLifetime(time.Minute))
		synctest.Wait()
		assert.Equal(t, 1, p.Stats().Creating)
		require.NoError(t, p.Close(context.Background()))
		st := p.Stats()
		assert.Equal(t, int64(1), st.CreateErrors)
		assert.Zero(t, st.Total)
		// synctest.Test fails if any goroutine of the bubble is left.
	})
}
