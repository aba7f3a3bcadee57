package limiter_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// semAcquireAsync starts Acquire(ctx, w) in a goroutine and returns a channel
// that receives its result.
func semAcquireAsync(ctx context.Context, s *limiter.Semaphore, w int64) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Acquire(ctx, w) }()
	return ch
}

// semPending reports whether ch has no result yet. Call it after
// synctest.Wait.
func semPending(ch <-chan error) bool {
	select {
	case err := <-ch:
		panic(err)
	default:
		return true
	}
}

func TestSemaphoreBadLimitPanics(t *testing.T) {
	for _, n := range []int64{0, -1, 1 << 62} {
		assert.PanicsWithValue(t, "limiter: NewSemaphore("+semItoa(n)+"): n must be between 1 and 1<<62-1",
			func() { limiter.NewSemaphore(n) })
		assert.PanicsWithValue(t, "limiter: Semaphore.SetLimit("+semItoa(n)+"): n must be between 1 and 1<<62-1",
			func() { limiter.NewSemaphore(1).SetLimit(n) })
	}
}

func TestSemaphoreBadWeightPanics(t *testing.T) {
	s := limiter.NewSemaphore(2)
	for _, w := range []int64{0, -1} {
		assert.PanicsWithValue(t, "limiter: Semaphore.Acquire("+semItoa(w)+"): weight must be at least 1",
			func() { _ = s.Acquire(context.Background(), w) })
		assert.PanicsWithValue(t, "limiter: Semaphore.TryAcquire("+semItoa(w)+"): weight must be at least 1",
			func() { s.TryAcquire(w) })
		assert.PanicsWithValue(t, "limiter: Semaphore.Release("+semItoa(w)+"): weight must be at least 1",
			func() { s.Release(w) })
	}
	assert.Equal(t, limiter.SemaphoreStats{Limit: 2}, semGauges(s.Stats()))
}

func TestSemaphoreReleaseMoreThanHeldPanics(t *testing.T) {
	s := limiter.NewSemaphore(3)
	assert.PanicsWithValue(t, "limiter: Semaphore.Release(1) with only 0 permits held", func() { s.Release(1) })
	require.NoError(t, s.Acquire(context.Background(), 2))
	assert.PanicsWithValue(t, "limiter: Semaphore.Release(3) with only 2 permits held", func() { s.Release(3) })
	// The failed Release changed nothing, and the lock-free paths still work.
	assert.Equal(t, limiter.SemaphoreStats{Limit: 3, Held: 2}, semGauges(s.Stats()))
	s.Release(2)
	assert.True(t, s.TryAcquire(3))
}

func TestSemaphoreTryAcquire(t *testing.T) {
	s := limiter.NewSemaphore(2)
	var got []bool
	require.NoError(t, s.Acquire(context.Background(), 1))
	got = append(got, s.TryAcquire(1), s.TryAcquire(1))
	s.Release(2)
	got = append(got, s.TryAcquire(1))
	require.NoError(t, s.Acquire(context.Background(), 1))
	got = append(got, s.TryAcquire(1), s.TryAcquire(3))
	assert.Equal(t, []bool{true, false, true, false, false}, got)
}

func TestSemaphoreAcquireWithTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := limiter.NewSemaphore(2)
		try := func(w int64) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			return s.Acquire(ctx, w)
		}
		require.NoError(t, s.Acquire(context.Background(), 1))
		assert.NoError(t, try(1))
		start := time.Now()
		assert.ErrorIs(t, try(1), context.DeadlineExceeded)
		assert.Equal(t, 10*time.Millisecond, time.Since(start), "waited exactly until the deadline")
		s.Release(2)
		assert.NoError(t, try(1))
		require.NoError(t, s.Acquire(context.Background(), 1))
		assert.ErrorIs(t, try(1), context.DeadlineExceeded)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 2, Held: 2}, semGauges(s.Stats()))
	})
}

func TestSemaphoreAcquireReturnsCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("shutting down")
		s := limiter.NewSemaphore(1)

		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(cause)
		assert.Same(t, cause, s.Acquire(ctx, 1), "done before the call: fails even though a permit is free")
		assert.Equal(t, limiter.SemaphoreStats{Limit: 1}, semGauges(s.Stats()))

		require.NoError(t, s.Acquire(context.Background(), 1))
		ctx, cancel = context.WithCancelCause(context.Background())
		ch := semAcquireAsync(ctx, s, 1)
		synctest.Wait()
		assert.True(t, semPending(ch))
		cancel(cause)
		assert.Same(t, cause, <-ch, "done while queued")
		assert.Equal(t, limiter.SemaphoreStats{Limit: 1, Held: 1}, semGauges(s.Stats()))
		s.Release(1)
	})
}

// TestSemaphoreTooLargeFailsAtOnce checks that a request that can never fit
// fails at once, and that it blocks no one meanwhile (x/sync blocks it until
// ctx ends).
func TestSemaphoreTooLargeFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := limiter.NewSemaphore(2)
		require.NoError(t, s.Acquire(context.Background(), 2)) // force the slow path
		err := s.Acquire(context.Background(), 3)
		require.ErrorIs(t, err, limiter.ErrTooLarge)
		assert.EqualError(t, err, "limiter: Semaphore.Acquire(3) with limit 2: limiter: weight exceeds the semaphore's limit")
		s.Release(2)
		assert.ErrorIs(t, s.Acquire(context.Background(), 3), limiter.ErrTooLarge, "fast path too")
		assert.False(t, s.TryAcquire(3))

		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				assert.NoError(t, s.Acquire(context.Background(), 1))
				time.Sleep(time.Millisecond)
				s.Release(1)
			})
		}
		wg.Wait()
		assert.Equal(t, limiter.SemaphoreStats{Limit: 2}, semGauges(s.Stats()))
	})
}

// TestSemaphoreFIFO queues waiters of mixed weights one at a time and checks
// that permits go to them strictly in arrival order: a small waiter that would
// fit does not overtake a large one ahead of it.
func TestSemaphoreFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := limiter.NewSemaphore(4)
		require.NoError(t, s.Acquire(context.Background(), 4))
		weights := []int64{1, 3, 1, 2, 2, 4, 1}
		var (
			mu    sync.Mutex
			order []int
		)
		var wg sync.WaitGroup
		for i, w := range weights {
			wg.Go(func() {
				require.NoError(t, s.Acquire(context.Background(), w))
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
			synctest.Wait() // queued before the next one starts
		}
		assert.Equal(t, len(weights), s.Stats().Waiters)

		// Each step releases what the previously granted waiters hold and
		// checks who got in. Releasing 1 of 4 lets waiter 0 (w=1) in; waiter
		// 1 (w=3) is then blocked, and waiter 2 (w=1) must not overtake it.
		steps := []struct {
			release int64
			want    []int
		}{
			{release: 1, want: []int{0}},
			{release: 1, want: []int{0}},    // 1 free: waiter 1 needs 3, waiter 2 must not overtake
			{release: 2, want: []int{0, 1}}, // 3 free: waiter 1 in, none left
			{release: 1, want: []int{0, 1, 2}},
			{release: 3, want: []int{0, 1, 2, 3}},       // 3 free: waiter 3 (2) in, 4 (2) waits
			{release: 3, want: []int{0, 1, 2, 3, 4}},    // 4 free: waiter 4 in, 5 (4) waits
			{release: 2, want: []int{0, 1, 2, 3, 4, 5}}, // 4 free: waiter 5 in
			{release: 4, want: []int{0, 1, 2, 3, 4, 5, 6}},
		}
		for i, step := range steps {
			s.Release(step.release)
			synctest.Wait()
			if i == 1 { // 1 permit free, but waiters are queued: no barging
				assert.False(t, s.TryAcquire(1))
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				assert.ErrorIs(t, s.Acquire(ctx, 1), context.DeadlineExceeded)
				cancel()
			}
			mu.Lock()
			assert.Equal(t, step.want, order, "step %d", i)
			mu.Unlock()
		}
		wg.Wait()
		assert.Equal(t, limiter.SemaphoreStats{Limit: 4, Held: 1}, semGauges(s.Stats()))
	})
}

// TestSemaphoreLargeAcquireDoesNotStarve keeps the permits busy with small
// holders that release and re-acquire in a loop; a waiter for all of them
// must still get in.
func TestSemaphoreLargeAcquireDoesNotStarve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4
		ctx := context.Background()
		s := limiter.NewSemaphore(n)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for i := range n {
			require.NoError(t, s.Acquire(ctx, 1))
			wg.Go(func() {
				for !stop.Load() {
					// Staggered, so that the permits are never all free at
					// once unless the waiter holds back the others.
					time.Sleep(time.Duration(i+1) * time.Millisecond)
					s.Release(1)
					assert.NoError(t, s.Acquire(ctx, 1))
				}
				s.Release(1)
			})
		}
		time.Sleep(10 * time.Millisecond)
		bigCtx, cancel := context.WithTimeout(ctx, time.Second) // 1000 rounds of the holders
		defer cancel()
		assert.NoError(t, s.Acquire(bigCtx, n), "starved")
		stop.Store(true)
		if !t.Failed() {
			s.Release(n)
		}
		wg.Wait()
		assert.Equal(t, limiter.SemaphoreStats{Limit: n}, semGauges(s.Stats()))
	})
}

// TestSemaphoreCancelHeadUnblocksOthers cancels a large waiter at the head of
// the queue; the small waiters behind it, which fit, must then get in.
func TestSemaphoreCancelHeadUnblocksOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := limiter.NewSemaphore(10)
		require.NoError(t, s.Acquire(context.Background(), 1))
		ctx, cancel := context.WithCancel(context.Background())
		big := semAcquireAsync(ctx, s, 10)
		synctest.Wait()
		small := semAcquireAsync(context.Background(), s, 1)
		synctest.Wait()
		assert.True(t, semPending(small), "FIFO: waits behind the large waiter")
		cancel()
		assert.ErrorIs(t, <-big, context.Canceled)
		assert.NoError(t, <-small)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 10, Held: 2}, semGauges(s.Stats()))
		s.Release(2)
	})
}

// TestSemaphoreCancelBeforeRelease is the scenario of golang/go#63615: ctx
// is cancelled before the permits the waiter needs are released, so its
// Acquire must fail and every permit must be back afterwards.
func TestSemaphoreCancelBeforeRelease(t *testing.T) {
	for range 100 {
		s := limiter.NewSemaphore(2)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, s.Acquire(context.Background(), 1))
		released := make(chan struct{})
		go func() {
			for s.Stats().Waiters == 0 {
				time.Sleep(time.Microsecond)
			}
			cancel()
			s.Release(1)
			close(released)
		}()
		require.ErrorIs(t, s.Acquire(ctx, 2), context.Canceled)
		<-released
		require.True(t, s.TryAcquire(2), "permits lost")
		s.Release(2)
		require.ErrorIs(t, s.Acquire(ctx, 1), context.Canceled, "done context fails even with permits free")
	}
}

func TestSemaphoreSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := limiter.NewSemaphore(2)
		require.NoError(t, s.Acquire(ctx, 2))
		a := semAcquireAsync(ctx, s, 2)
		synctest.Wait()
		b := semAcquireAsync(ctx, s, 1)
		synctest.Wait()
		assert.Equal(t, 2, s.Stats().Waiters)

		// Growing admits the queue in order as far as it fits.
		s.SetLimit(5)
		require.NoError(t, <-a)
		require.NoError(t, <-b)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 5, Held: 5}, semGauges(s.Stats()))

		// Shrinking takes nothing back; new callers wait until held < limit.
		s.SetLimit(2)
		c := semAcquireAsync(ctx, s, 1)
		synctest.Wait()
		tooBig := semAcquireAsync(ctx, s, 2)
		synctest.Wait()
		assert.Equal(t, limiter.SemaphoreStats{Limit: 2, Held: 5, Waiters: 2}, semGauges(s.Stats()))
		s.Release(2) // held 3
		s.Release(1) // held 2
		synctest.Wait()
		assert.True(t, semPending(c))
		s.Release(1) // held 1: c gets in
		require.NoError(t, <-c)
		synctest.Wait()
		assert.True(t, semPending(tooBig))

		// Shrinking below a queued waiter's weight fails it at once.
		s.SetLimit(1)
		assert.ErrorIs(t, <-tooBig, limiter.ErrTooLarge)
		assert.Equal(t, limiter.SemaphoreStats{Limit: 1, Held: 2}, semGauges(s.Stats()))
		s.Release(2)
		assert.True(t, s.TryAcquire(1))
		assert.False(t, s.TryAcquire(1))
		s.Release(1)
	})
}

// TestSemaphoreFastPathDoesNotAllocate checks the lock-free paths.
func TestSemaphoreFastPathDoesNotAllocate(t *testing.T) {
	s := limiter.NewSemaphore(4)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		_ = s.Acquire(ctx, 2)
		s.TryAcquire(1)
		s.Release(3)
	})
	assert.Zero(t, allocs)
}

// TestSemaphoreCancelRaces cancels queued waiters at the moment permits are
// handed to them, many times over, and checks that no permit is lost or
// duplicated: every Acquire that returned nil held its permits exclusively,
// and every permit is back at the end.
func TestSemaphoreCancelRaces(t *testing.T) {
	const (
		size    = 3
		rounds  = 300
		waiters = 6
	)
	s := limiter.NewSemaphore(size)
	var inUse atomic.Int64
	for range rounds {
		require.NoError(t, s.Acquire(context.Background(), size))
		var wg sync.WaitGroup
		cancels := make([]context.CancelFunc, waiters)
		for i := range waiters {
			ctx, cancel := context.WithCancel(context.Background())
			cancels[i] = cancel
			w := int64(i%size + 1)
			wg.Go(func() {
				if s.Acquire(ctx, w) != nil {
					return
				}
				if n := inUse.Add(w); n > size {
					t.Errorf("%d permits in use, limit %d", n, size)
				}
				inUse.Add(-w)
				s.Release(w)
			})
		}
		// Release and cancel at once, so that grants and cancellations race.
		wg.Go(func() { s.Release(size) })
		for _, cancel := range cancels {
			wg.Go(cancel)
		}
		wg.Wait()
		require.Equal(t, limiter.SemaphoreStats{Limit: size}, semGauges(s.Stats()))
	}
}

// TestSemaphoreChaos runs Acquire, TryAcquire, Release, cancellation and
// SetLimit from many goroutines at once and checks permit conservation: the
// permits callers believe they hold never exceed the largest limit set, and
// at the end the semaphore holds exactly what they hold (nothing).
func TestSemaphoreChaos(t *testing.T) {
	const (
		workers = 8
		ops     = 400
		maxSize = 8
	)
	s := limiter.NewSemaphore(maxSize)
	var inUse atomic.Int64
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range ops {
				w := 1 + r.Int64N(3)
				switch r.IntN(4) {
				case 0:
					if !s.TryAcquire(w) {
						continue
					}
				case 1:
					ctx, cancel := context.WithCancel(context.Background())
					go cancel()
					if s.Acquire(ctx, w) != nil {
						continue
					}
				case 2:
					s.SetLimit(3 + r.Int64N(maxSize-2))
					continue
				default:
					ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
					err := s.Acquire(ctx, w)
					cancel()
					if err != nil {
						continue
					}
				}
				if n := inUse.Add(w); n > maxSize {
					t.Errorf("%d permits in use, largest limit %d", n, maxSize)
				}
				inUse.Add(-w)
				s.Release(w)
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	assert.Zero(t, st.Held)
	assert.Zero(t, st.Waiters)
	s.SetLimit(maxSize)
	assert.True(t, s.TryAcquire(maxSize), "all permits are back")
}

func semItoa(n int64) string { return strconv.FormatInt(n, 10) }

// FuzzSemaphore runs a sequence of single-goroutine operations, decoded from
// the input, against a Semaphore and a two-integer model of it (limit, held)
// and checks that they agree after every step.
func FuzzSemaphore(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 2, 5, 0, 9, 3, 1})
	f.Add([]byte{2, 1, 0, 1, 0, 1, 1, 1, 4, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		limit, held := int64(4), int64(0)
		s := limiter.NewSemaphore(limit)
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		for i := 0; i+1 < len(ops); i += 2 {
			w := int64(ops[i+1]%8) + 1
			switch ops[i] % 5 {
			case 0:
				got := s.TryAcquire(w)
				want := held+w <= limit
				require.Equal(t, want, got, "step %d: TryAcquire(%d) with %d/%d held", i/2, w, held, limit)
				if got {
					held += w
				}
			case 1:
				if w > held {
					require.Panics(t, func() { s.Release(w) })
				} else {
					s.Release(w)
					held -= w
				}
			case 2:
				s.SetLimit(w)
				limit = w
			case 3:
				require.ErrorIs(t, s.Acquire(canceled, w), context.Canceled)
			case 4:
				if w > limit {
					require.ErrorIs(t, s.Acquire(context.Background(), w), limiter.ErrTooLarge)
				} else if held+w <= limit {
					require.NoError(t, s.Acquire(context.Background(), w))
					held += w
				}
			}
			require.Equal(t, limiter.SemaphoreStats{Limit: limit, Held: held}, semGauges(s.Stats()), "step %d", i/2)
		}
	})
}

// TestSemaphoreFastPathRacesTheQueue runs blocking Acquire calls of mixed
// weights from many goroutines on a tiny semaphore, so that the fast path's
// optimistic add keeps racing waiters being queued and granted under the
// lock. A permit counted while the lock's holder decided, then taken back,
// must still reach the queue: otherwise a waiter sleeps forever and the test
// times out.
func TestSemaphoreFastPathRacesTheQueue(t *testing.T) {
	const (
		size    = 2
		workers = 16
		loops   = 2000
	)
	s := limiter.NewSemaphore(size)
	var inUse atomic.Int64
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			w := int64(g%size + 1)
			for range loops {
				if err := s.Acquire(context.Background(), w); err != nil {
					t.Error(err)
					return
				}
				if n := inUse.Add(w); n > size {
					t.Errorf("%d permits in use, limit %d", n, size)
				}
				inUse.Add(-w)
				s.Release(w)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, limiter.SemaphoreStats{Limit: size}, semGauges(s.Stats()))
}
