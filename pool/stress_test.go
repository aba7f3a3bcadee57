package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/pool"
)

// modelWaiter is an Acquire call started by TestModel.
type modelWaiter struct {
	id     int
	cancel context.CancelFunc
}

// served is what an Acquire started by TestModel returned.
type served struct {
	id  int
	r   *pool.Resource[*conn]
	err error
}

// TestModel drives a pool with random acquires, releases, destroys,
// cancellations and try-acquires, one at a time in a synctest bubble, and
// checks after each step that the pool did what a simple model of it says:
// which caller was served (FIFO: always the oldest waiting), how many
// resources are idle, in use and waiting, that the total never exceeds
// MaxSize. It ends with a Close that must return exactly at its deadline
// when resources are still out, and checks that every resource created was
// destroyed exactly once.
func TestModel(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runModel(t, seed) })
		})
	}
}

// FuzzModel runs TestModel's checks on the schedules that fuzzed seeds
// draw.
func FuzzModel(f *testing.F) {
	for seed := range uint64(4) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		synctest.Test(t, func(t *testing.T) { runModel(t, seed) })
	})
}

func runModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	maxSize := 1 + rng.IntN(4)
	tr := newTracker()
	p := pool.New(tr.create, tr.destroy, pool.MaxSize(maxSize))

	results := make(chan served, 1000)
	var (
		next  int
		queue []modelWaiter           // the model's FIFO of waiting callers
		held  []*pool.Resource[*conn] // resources the test holds
		idle  int                     // the model's idle count
		wg    sync.WaitGroup
		// cancels holds every caller's cancel, called at the end.
		cancels []context.CancelFunc
	)
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	total := func() int { return idle + len(held) }
	// collect takes what the callers returned since the last step, and
	// checks it against the ids the model expected to be served.
	collect := func(step string, want ...int) {
		t.Helper()
		synctest.Wait()
		var got []int
		for len(results) > 0 {
			s := <-results
			require.NoError(t, s.err, step)
			got = append(got, s.id)
			held = append(held, s.r)
		}
		require.Equal(t, want, got, "%s: served", step)
		st := p.Stats()
		require.Equal(t, idle, st.Idle, "%s: idle", step)
		require.Equal(t, len(held), st.InUse, "%s: in use", step)
		require.Equal(t, len(queue), st.Waiting, "%s: waiting", step)
		require.LessOrEqual(t, st.Total, maxSize, step)
		require.Equal(t, total(), st.Total, step)
	}
	// serveHead is what the model expects when a resource frees up.
	serveHead := func() []int {
		if len(queue) == 0 {
			return nil
		}
		w := queue[0]
		queue = queue[1:]
		return []int{w.id}
	}

	for step := range 150 {
		switch op := rng.IntN(10); {
		case op < 4: // acquire
			id := next
			next++
			ctx, cancel := context.WithCancel(context.Background())
			cancels = append(cancels, cancel)
			wg.Go(func() {
				r, err := p.Acquire(ctx)
				if errors.Is(err, context.Canceled) || errors.Is(err, pool.ErrClosed) {
					return
				}
				results <- served{id, r, err}
			})
			var want []int
			switch {
			case len(queue) == 0 && idle > 0:
				idle--
				want = []int{id}
			case len(queue) == 0 && total() < maxSize: // created for it
				want = []int{id}
			default:
				queue = append(queue, modelWaiter{id, cancel})
			}
			collect(fmt.Sprintf("step %d: acquire %d", step, id), want...)
		case op < 6 && len(held) > 0: // release
			i := rng.IntN(len(held))
			r := held[i]
			held = slices.Delete(held, i, i+1)
			r.Release()
			want := serveHead()
			if want == nil {
				idle++
			}
			collect(fmt.Sprintf("step %d: release", step), want...)
		case op < 7 && len(held) > 0: // destroy
			i := rng.IntN(len(held))
			r := held[i]
			held = slices.Delete(held, i, i+1)
			r.Destroy()
			collect(fmt.Sprintf("step %d: destroy", step), serveHead()...) // a create for the head
		case op < 9 && len(queue) > 0: // cancel a waiter
			i := rng.IntN(len(queue))
			w := queue[i]
			queue = slices.Delete(queue, i, i+1)
			w.cancel()
			collect(fmt.Sprintf("step %d: cancel %d", step, w.id))
		default: // try
			r, ok := p.TryAcquire()
			require.Equal(t, len(queue) == 0 && idle > 0, ok, "step %d: TryAcquire", step)
			if ok {
				idle--
				held = append(held, r)
			}
			collect(fmt.Sprintf("step %d: try", step))
		}
	}

	// Close with resources still out returns at its deadline and says how
	// many; the waiters get ErrClosed at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := p.Close(ctx)
	if len(held) > 0 {
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, fmt.Sprintf("%d resources still out", len(held)))
		require.Equal(t, time.Second, time.Since(start))
	} else {
		require.NoError(t, err)
		require.Zero(t, time.Since(start))
	}
	wg.Wait()
	for _, w := range queue {
		w.cancel()
	}
	for i, r := range held {
		if i%2 == 0 {
			r.Release()
		} else {
			r.Destroy()
		}
	}
	require.NoError(t, p.Close(context.Background()))
	st := p.Stats()
	require.Zero(t, st.Total)
	require.Equal(t, st.Created, st.Destroyed)
	tr.verify(t, maxSize)
}

// TestStress runs random acquires (some with short deadlines), With calls,
// try-acquires, releases and destroys from many goroutines at once, with a
// create that is slow, and fails, at random; then closes the pool while they
// run. It checks that the total never exceeds MaxSize, that Close returns by
// its deadline, and that every resource created is destroyed exactly once.
func TestStress(t *testing.T) {
	const (
		workers = 16
		ops     = 300
		maxSize = 4
	)
	tr := newTracker()
	var n atomic.Int64
	errCreate := errors.New("create failed")
	create := func(ctx context.Context) (*conn, error) {
		k := n.Add(1)
		if k%3 == 0 {
			time.Sleep(time.Duration(k%50) * time.Microsecond)
		}
		if k%10 == 0 {
			return nil, errCreate
		}
		return tr.create(ctx)
	}
	p := pool.New(create, tr.destroy, pool.MaxSize(maxSize), pool.CheckAfter(0),
		pool.Check(func(_ context.Context, c *conn) error {
			if c.id%7 == 0 {
				return errors.New("unhealthy")
			}
			return nil
		}))

	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			st := p.Stats()
			if st.Total > maxSize || st.Idle+st.InUse+st.Creating+st.Destroying != st.Total {
				t.Errorf("bad stats: %+v", st)
				return
			}
			time.Sleep(10 * time.Microsecond)
		}
	})

	var wg sync.WaitGroup
	var closed atomic.Bool
	var done atomic.Int64 // operations started
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range ops {
				done.Add(1)
				var err error
				switch rng.IntN(4) {
				case 0, 1:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(200))*time.Microsecond)
					var r *pool.Resource[*conn]
					r, err = p.Acquire(ctx)
					cancel()
					if err == nil {
						if rng.IntN(5) == 0 {
							r.Destroy()
						} else {
							r.Release()
						}
					}
				case 2:
					err = pool.With(context.Background(), p, func(context.Context, *conn) error {
						if rng.IntN(5) == 0 {
							return pool.ErrBroken
						}
						return nil
					})
				default:
					if r, ok := p.TryAcquire(); ok {
						r.Release()
					}
				}
				switch {
				case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, errCreate), errors.Is(err, pool.ErrBroken):
				case errors.Is(err, pool.ErrClosed):
					if !closed.Load() {
						t.Errorf("ErrClosed before Close")
					}
					return
				default:
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		})
	}
	for done.Load() < workers*ops/2 { // close halfway through
		time.Sleep(50 * time.Microsecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	closed.Store(true)
	err := p.Close(ctx)
	if err != nil {
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	}
	deadline, _ := ctx.Deadline()
	assert.Less(t, time.Since(deadline), time.Second, "Close returned long after its deadline")
	wg.Wait()
	close(stop)
	sampler.Wait()
	require.NoError(t, p.Close(context.Background()))
	st := p.Stats()
	assert.Zero(t, st.Total)
	assert.Equal(t, st.Created, st.Destroyed)
	tr.verify(t, maxSize)
}
