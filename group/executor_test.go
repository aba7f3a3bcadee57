package group_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

// gate is a task that blocks until release is closed, counting how many are
// inside.
type gate struct {
	release chan struct{}
	in      atomic.Int64
	started chan struct{}
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), started: make(chan struct{}, 1000)}
}

func (g *gate) task(context.Context) error {
	g.in.Add(1)
	g.started <- struct{}{}
	<-g.release
	g.in.Add(-1)
	return nil
}

func shutdown(t *testing.T, ex *group.Executor) {
	t.Helper()
	require.NoError(t, ex.Shutdown(context.Background()))
}

func TestExecutorRunsEverything(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(4), group.Queue(10))
	var ran atomic.Int64
	for range 1000 {
		require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
			ran.Add(1)
			return nil
		}))
	}
	shutdown(t, ex)
	assert.Equal(t, int64(1000), ran.Load())
	st := ex.Stats()
	assert.Equal(t, uint64(1000), st.Submitted)
	assert.Equal(t, uint64(1000), st.Completed)
	assert.Zero(t, st.Running)
	assert.Zero(t, st.Queued)
	assert.Zero(t, st.Workers)
	assert.Equal(t, 4, st.Limit)
	assert.ErrorIs(t, ex.Submit(context.Background(), func(context.Context) error { return nil }), group.ErrClosed)
	assert.ErrorIs(t, ex.TrySubmit(func(context.Context) error { return nil }), group.ErrClosed)
	_, err := group.SubmitFunc(context.Background(), ex, func(context.Context) (int, error) { return 1, nil })
	assert.ErrorIs(t, err, group.ErrClosed)
}

func TestExecutorDefaults(t *testing.T) {
	ex := group.NewExecutor(context.Background())
	st := ex.Stats()
	assert.Equal(t, runtime.GOMAXPROCS(0), st.Limit)
	assert.Zero(t, st.Workers, "no goroutine before the first task")
	shutdown(t, ex)
}

func TestExecutorTrySubmitFull(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(2), group.Queue(3))
	g := newGate()
	for range 2 {
		require.NoError(t, ex.TrySubmit(g.task))
	}
	for range 3 {
		require.NoError(t, ex.TrySubmit(g.task))
	}
	<-g.started
	<-g.started
	assert.ErrorIs(t, ex.TrySubmit(g.task), group.ErrFull)
	st := ex.Stats()
	assert.Equal(t, 2, st.Running)
	assert.Equal(t, 3, st.Queued)
	assert.Equal(t, uint64(1), st.Rejected)

	nop := func(context.Context) error { return nil }
	allocs := testing.AllocsPerRun(100, func() {
		if ex.TrySubmit(nop) != group.ErrFull {
			panic("not full")
		}
	})
	assert.Zero(t, allocs, "TrySubmit on a full queue allocates")

	close(g.release)
	shutdown(t, ex)
	assert.Equal(t, uint64(5), ex.Stats().Completed)
	assert.Equal(t, int64(0), g.in.Load())
}

func TestExecutorQueueZero(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(0))
	g := newGate()
	require.NoError(t, ex.TrySubmit(g.task))
	<-g.started
	assert.ErrorIs(t, ex.TrySubmit(g.task), group.ErrFull)
	close(g.release)
	shutdown(t, ex)
}

func TestExecutorSubmitWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
		g := newGate()
		require.NoError(t, ex.Submit(context.Background(), g.task))
		require.NoError(t, ex.Submit(context.Background(), g.task)) // queued

		// Full: Submit waits until its context ends.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := ex.Submit(ctx, g.task)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, uint64(1), ex.Stats().Rejected)

		// Room frees: a waiting Submit is accepted, in arrival order.
		var order []int
		var mu sync.Mutex
		done := make(chan error, 3)
		for i := range 3 {
			go func() {
				done <- ex.Submit(context.Background(), func(context.Context) error {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
					return nil
				})
			}()
			synctest.Wait()
		}
		assert.Equal(t, 3, ex.Stats().Waiting)
		close(g.release)
		for range 3 {
			require.NoError(t, <-done)
		}
		shutdown(t, ex)
		assert.Equal(t, []int{0, 1, 2}, order)
	})
}

func TestExecutorShutdownReleasesBlockedSubmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
		g := newGate()
		require.NoError(t, ex.Submit(context.Background(), g.task))
		require.NoError(t, ex.Submit(context.Background(), g.task))
		errc := make(chan error)
		go func() { errc <- ex.Submit(context.Background(), g.task) }()
		synctest.Wait()
		shut := make(chan error)
		go func() { shut <- ex.Shutdown(context.Background()) }()
		assert.ErrorIs(t, <-errc, group.ErrClosed) // at once, before the drain
		close(g.release)
		require.NoError(t, <-shut)
		assert.Equal(t, uint64(2), ex.Stats().Completed)
	})
}

func TestExecutorTaskOutlivesSubmitter(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "executor")
	ex := group.NewExecutor(parent, group.Limit(1))
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	result := make(chan string, 1)
	require.NoError(t, ex.Submit(ctx, func(ctx context.Context) error {
		<-release
		result <- fmt.Sprint(ctx.Value(key{}), " ", ctx.Err())
		return nil
	}))
	cancel() // the submitter returns
	close(release)
	assert.Equal(t, "executor <nil>", <-result)
	shutdown(t, ex)
}

func TestExecutorParentCancelled(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	ex := group.NewExecutor(parent, group.Limit(1))
	cause := errors.New("parent gone")
	cancel(cause)
	var seen error
	require.NoError(t, ex.Submit(context.Background(), func(ctx context.Context) error {
		seen = context.Cause(ctx)
		return nil
	}))
	shutdown(t, ex)
	assert.Equal(t, cause, seen)
}

func TestFuture(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(2))
	defer shutdown(t, ex)
	ctx := context.Background()

	f, err := group.SubmitFunc(ctx, ex, func(context.Context) (int, error) { return 42, nil })
	require.NoError(t, err)
	v, err := f.Wait(ctx)
	assert.Equal(t, 42, v)
	assert.NoError(t, err)
	v, err = f.Wait(ctx) // again
	assert.Equal(t, 42, v)
	assert.NoError(t, err)
	<-f.Done()

	boom := errors.New("boom")
	fe, err := group.SubmitFunc(ctx, ex, func(context.Context) (string, error) { return "partial", boom })
	require.NoError(t, err)
	s, err := fe.Wait(ctx)
	assert.Equal(t, "partial", s)
	assert.ErrorIs(t, err, boom)

	fp, err := group.SubmitFunc(ctx, ex, func(context.Context) (int, error) { panic(boom) })
	require.NoError(t, err)
	_, err = fp.Wait(ctx)
	var pe *group.PanicError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "executor_test.go", "the task's stack")

	fg, err := group.SubmitFunc(ctx, ex, func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
	require.NoError(t, err)
	_, err = fg.Wait(ctx)
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "Goexit")

	st := ex.Stats()
	assert.Equal(t, uint64(2), st.Panicked)
	assert.Equal(t, uint64(1), st.Failed)
}

func TestFutureWaitContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1))
		release := make(chan struct{})
		f, err := group.SubmitFunc(context.Background(), ex, func(context.Context) (int, error) {
			<-release
			return 1, nil
		})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = f.Wait(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		close(release)
		v, err := f.Wait(context.Background()) // the task went on
		assert.Equal(t, 1, v)
		assert.NoError(t, err)
		shutdown(t, ex)
	})
}

func TestFutureCancel(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(1))
	defer shutdown(t, ex)
	ctx := context.Background()
	started := make(chan struct{})
	running, err := group.SubmitFunc(ctx, ex, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 7, context.Cause(ctx)
	})
	require.NoError(t, err)
	<-started
	var ran atomic.Bool
	queued, err := group.SubmitFunc(ctx, ex, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, 1, ex.Stats().Queued)

	// Cancelled while queued: leaves the queue at once.
	queued.Cancel()
	assert.Zero(t, ex.Stats().Queued)
	_, err = queued.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	queued.Cancel() // again: nothing

	// Cancelled while running: its context is cancelled.
	running.Cancel()
	v, err := running.Wait(ctx)
	assert.Equal(t, 7, v)
	assert.ErrorIs(t, err, context.Canceled)
	running.Cancel() // ended: nothing

	require.NoError(t, ex.Shutdown(ctx))
	assert.False(t, ran.Load())
	st := ex.Stats()
	assert.Equal(t, uint64(1), st.Cancelled)
	assert.Equal(t, uint64(1), st.Completed)
	assert.Equal(t, uint64(2), st.Submitted)
}

func TestExecutorPriority(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(100), group.Aging(1000))
	g := newGate()
	require.NoError(t, ex.Submit(context.Background(), g.task))
	<-g.started
	var mu sync.Mutex
	var order []string
	prios := []int{0, 5, -1, 5, 0, 10, -1, 10, 5}
	for i, p := range prios {
		ctx := group.WithPriority(context.Background(), p)
		require.NoError(t, ex.Submit(ctx, func(context.Context) error {
			mu.Lock()
			order = append(order, fmt.Sprintf("p%d#%d", p, i))
			mu.Unlock()
			return nil
		}))
	}
	close(g.release)
	shutdown(t, ex)
	assert.Equal(t, []string{"p10#5", "p10#7", "p5#1", "p5#3", "p5#8", "p0#0", "p0#4", "p-1#2", "p-1#6"}, order)
}

// TestExecutorNoStarvation feeds a steady stream of high priority tasks
// (each one, as it runs, submits the next) and checks that a low priority
// task still runs, overtaken by exactly the tasks the rule lets through. With
// one worker, the order is deterministic.
func TestExecutorNoStarvation(t *testing.T) {
	const aging, gap, ahead = 4, 10, 8
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(64), group.Aging(aging))
	high := group.WithPriority(context.Background(), gap)
	g := newGate()
	require.NoError(t, ex.Submit(context.Background(), g.task))
	<-g.started

	var highRan, lowAfter int // only the one worker writes them
	fed := make(chan struct{})
	var feed func(context.Context) error
	feed = func(context.Context) error {
		highRan++
		switch {
		case highRan < 500:
			return ex.Submit(high, feed)
		case highRan == 500:
			close(fed)
		}
		return nil
	}
	for range ahead {
		require.NoError(t, ex.Submit(high, feed))
	}
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
		lowAfter = highRan
		return nil
	}))
	close(g.release)
	<-fed
	shutdown(t, ex)
	// The 8 queued before it, then those submitted fewer than
	// aging×gap = 40 tasks after it: seq +1 to +39.
	assert.Equal(t, ahead+aging*gap-1, lowAfter, "high priority tasks run before the low one")
	assert.Equal(t, 500+ahead-1, highRan, "each of the 8 chains ends once 500 have run")
}

func TestExecutorSetLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(2), group.Queue(10))
		g := newGate()
		for range 6 {
			require.NoError(t, ex.Submit(context.Background(), g.task))
		}
		synctest.Wait()
		assert.Equal(t, int64(2), g.in.Load())
		ex.SetLimit(4) // starts two queued tasks at once
		synctest.Wait()
		assert.Equal(t, int64(4), g.in.Load())
		assert.Equal(t, 4, ex.Stats().Running)

		ex.SetLimit(1) // no running task is interrupted
		assert.Equal(t, 4, ex.Stats().Running)
		assert.Equal(t, 2, ex.Stats().Queued)

		// One finishes: still 3 >= 1 running, nothing starts.
		g.release <- struct{}{}
		synctest.Wait()
		st := ex.Stats()
		assert.Equal(t, uint64(1), st.Completed)
		assert.Equal(t, 3, st.Running)
		assert.Equal(t, 2, st.Queued)
		// Three finish: now one may run.
		for range 3 {
			g.release <- struct{}{}
		}
		synctest.Wait()
		st = ex.Stats()
		assert.Equal(t, 1, st.Running)
		assert.Equal(t, 1, st.Queued)
		close(g.release)
		shutdown(t, ex)
		assert.Equal(t, uint64(6), ex.Stats().Completed)
	})
}

func TestExecutorIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(4))
		for range 4 {
			require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
				time.Sleep(time.Millisecond)
				return nil
			}))
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 4, ex.Stats().Workers, "idle workers wait for work")
		time.Sleep(group.DefaultIdleTimeout - 20*time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 4, ex.Stats().Workers, "not yet idle for the timeout")
		time.Sleep(group.DefaultIdleTimeout + 20*time.Millisecond)
		synctest.Wait()
		assert.Zero(t, ex.Stats().Workers, "idle workers exit within twice the timeout")

		// A worker in use is kept.
		ex2 := group.NewExecutor(context.Background(), group.Limit(1), group.IdleTimeout(100*time.Millisecond))
		for range 10 {
			require.NoError(t, ex2.Submit(context.Background(), func(context.Context) error { return nil }))
			time.Sleep(90 * time.Millisecond)
			synctest.Wait()
			assert.Equal(t, 1, ex2.Stats().Workers)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Zero(t, ex2.Stats().Workers)
		// Work after the workers left starts a new one.
		f, err := group.SubmitFunc(context.Background(), ex2, func(context.Context) (int, error) { return 3, nil })
		require.NoError(t, err)
		v, _ := f.Wait(context.Background())
		assert.Equal(t, 3, v)
		shutdown(t, ex)
		shutdown(t, ex2)
	})
}

func TestExecutorShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(2), group.Queue(10))
		causes := make(chan error, 2)
		for range 2 { // running, they stop when cancelled
			require.NoError(t, ex.Submit(context.Background(), func(ctx context.Context) error {
				<-ctx.Done()
				time.Sleep(time.Second) // and take a while to return
				causes <- context.Cause(ctx)
				return nil
			}))
		}
		var ran atomic.Int64
		for range 3 {
			require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { ran.Add(1); return nil }))
		}
		f, err := group.SubmitFunc(context.Background(), ex, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
		require.NoError(t, err)
		cancelled, err := group.SubmitFunc(context.Background(), ex, func(context.Context) (int, error) { ran.Add(1); return 1, nil })
		require.NoError(t, err)
		cancelled.Cancel() // reported through its Future, not by Shutdown

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err = ex.Shutdown(ctx)
		assert.Equal(t, 6*time.Second, time.Since(start), "the deadline, then the running tasks' return")
		require.Error(t, err)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "4 accepted tasks never ran")
		cause := <-causes
		assert.ErrorIs(t, cause, group.ErrClosed)
		assert.ErrorIs(t, cause, context.DeadlineExceeded)
		_, ferr := f.Wait(context.Background())
		assert.ErrorIs(t, ferr, group.ErrClosed)
		_, cerr := cancelled.Wait(context.Background())
		assert.ErrorIs(t, cerr, context.Canceled)
		assert.Zero(t, ran.Load())
		st := ex.Stats()
		assert.Equal(t, uint64(4), st.Dropped)
		assert.Equal(t, uint64(1), st.Cancelled)
		assert.Equal(t, uint64(2), st.Completed)
		assert.Equal(t, st.Submitted, st.Completed+st.Cancelled+st.Dropped)

		// Shutdown again reports the same.
		err2 := ex.Shutdown(context.Background())
		assert.ErrorIs(t, err2, context.DeadlineExceeded)
	})
}

func TestExecutorPanicReraisedByShutdown(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(2))
	boom := errors.New("boom")
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { panic(boom) }))
	var ran atomic.Int64
	for range 10 {
		require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { ran.Add(1); return nil }))
	}
	var r any
	func() {
		defer func() { r = recover() }()
		_ = ex.Shutdown(context.Background())
	}()
	pe, ok := r.(*group.PanicError)
	require.True(t, ok, "Shutdown re-panics with a *PanicError, got %T", r)
	assert.ErrorIs(t, pe, boom)
	assert.Contains(t, pe.Error(), "executor_test.go")
	assert.Equal(t, int64(10), ran.Load(), "the panic stopped nothing else")
	assert.Equal(t, uint64(1), ex.Stats().Panicked)
}

func TestExecutorPanicAsError(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.PanicAsError())
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { panic("first") }))
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { panic("second") }))
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { runtime.Goexit(); return nil }))
	var ran atomic.Bool
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { ran.Store(true); return nil }))
	err := ex.Shutdown(context.Background())
	var pe *group.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "first")
	assert.True(t, ran.Load(), "a Goexit does not lose the queue")
	assert.Equal(t, uint64(3), ex.Stats().Panicked)
	assert.Equal(t, uint64(4), ex.Stats().Completed)
}

func TestExecutorTaskErrorsCounted(t *testing.T) {
	ex := group.NewExecutor(context.Background())
	for i := range 10 {
		require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
			if i%2 == 0 {
				return errors.New("odd job")
			}
			return nil
		}))
	}
	shutdown(t, ex)
	assert.Equal(t, uint64(5), ex.Stats().Failed)
}

func TestExecutorName(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Name("jobs"), group.Limit(1))
	var buf strings.Builder
	release := make(chan struct{})
	started := make(chan struct{})
	require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
		close(started)
		<-release
		return nil
	}))
	<-started
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
	close(release)
	shutdown(t, ex)
	assert.Contains(t, buf.String(), `"group":"jobs"`)
}

func TestExecutorMisuse(t *testing.T) {
	var zero group.Executor
	nop := func(context.Context) error { return nil }
	assert.PanicsWithValue(t, "group: Executor used without NewExecutor", func() { _ = zero.TrySubmit(nop) })
	assert.PanicsWithValue(t, "group: Executor used without NewExecutor", func() { _ = zero.Submit(context.Background(), nop) })
	assert.PanicsWithValue(t, "group: Executor used without NewExecutor", func() { zero.SetLimit(1) })
	assert.PanicsWithValue(t, "group: Executor used without NewExecutor", func() { zero.Stats() })
	assert.PanicsWithValue(t, "group: Executor used without NewExecutor", func() { _ = zero.Shutdown(context.Background()) })
	var f group.Future[int]
	assert.PanicsWithValue(t, "group: Future used without SubmitFunc", func() { f.Cancel() })
	assert.PanicsWithValue(t, "group: Future used without SubmitFunc", func() { _, _ = f.Wait(context.Background()) })

	var nilCtx context.Context
	assert.PanicsWithValue(t, "group: nil context", func() { group.NewExecutor(nilCtx) })
	ex := group.NewExecutor(context.Background())
	defer shutdown(t, ex)
	assert.PanicsWithValue(t, "group: nil context", func() { _ = ex.Submit(nilCtx, nop) })
	assert.PanicsWithValue(t, "group: nil function", func() { _ = ex.Submit(context.Background(), nil) })
	assert.PanicsWithValue(t, "group: nil function", func() { _ = ex.TrySubmit(nil) })
	assert.PanicsWithValue(t, "group: nil function", func() {
		_, _ = group.SubmitFunc[int](context.Background(), ex, nil)
	})
	assert.PanicsWithValue(t, "group: SetLimit(0): n must be at least 1", func() { ex.SetLimit(0) })
	assert.PanicsWithValue(t, "group: Queue(-1): n must be >= 0", func() { group.Queue(-1) })
	assert.PanicsWithValue(t, "group: IdleTimeout(0s): d must be > 0", func() { group.IdleTimeout(0) })
	assert.PanicsWithValue(t, "group: Aging(0): k must be at least 1", func() { group.Aging(0) })
	assert.PanicsWithValue(t, "group: nil context", func() { group.WithPriority(nilCtx, 1) })
}

// TestExecutorStress runs thousands of submitters with random priorities,
// random submit deadlines and random Future cancellations while the limit
// changes, then shuts down at a random moment, and checks that every
// accepted task ran exactly once or was reported, and that the limit was
// never exceeded.
func TestExecutorStress(t *testing.T) {
	for round := range 4 {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			stress(t, rand.New(rand.NewPCG(uint64(round), 99)))
		})
	}
}

func stress(t *testing.T, rng *rand.Rand) {
	const submitters, maxLimit = 2000, 8
	ex := group.NewExecutor(context.Background(), group.Limit(4), group.Queue(rng.IntN(64)), group.Aging(1+rng.IntN(8)))
	var (
		active, peak   atomic.Int64
		runs           sync.Map // task id -> *atomic.Int64
		accepted       atomic.Int64
		reported       atomic.Int64 // futures that said their task never ran
		closedOrFull   atomic.Int64
		futureRanTwice atomic.Bool
	)
	task := func(id int64) func(context.Context) error {
		return func(ctx context.Context) error {
			n := active.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			c, _ := runs.LoadOrStore(id, new(atomic.Int64))
			if c.(*atomic.Int64).Add(1) > 1 {
				futureRanTwice.Store(true)
			}
			if id%7 == 0 {
				runtime.Gosched()
			}
			active.Add(-1)
			return nil
		}
	}
	seeds := make([]uint64, submitters)
	for i := range seeds {
		seeds[i] = rng.Uint64()
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range submitters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seeds[i], 1))
			<-start
			id := int64(i)
			ctx := group.WithPriority(context.Background(), r.IntN(5)-2)
			var cancel context.CancelFunc = func() {}
			if r.IntN(3) == 0 {
				ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(200))*time.Microsecond)
			}
			defer cancel()
			switch r.IntN(3) {
			case 0:
				switch err := ex.Submit(ctx, task(id)); {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, group.ErrClosed) || errors.Is(err, context.DeadlineExceeded):
					closedOrFull.Add(1)
				default:
					t.Errorf("Submit: %v", err)
				}
			case 1:
				switch err := ex.TrySubmit(task(id)); {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, group.ErrClosed) || errors.Is(err, group.ErrFull):
					closedOrFull.Add(1)
				default:
					t.Errorf("TrySubmit: %v", err)
				}
			default:
				fn := task(id)
				f, err := group.SubmitFunc(ctx, ex, func(ctx context.Context) (int64, error) { return id, fn(ctx) })
				if err != nil {
					closedOrFull.Add(1)
					return
				}
				accepted.Add(1)
				if r.IntN(2) == 0 {
					f.Cancel()
				}
				v, err := f.Wait(context.Background())
				switch {
				case err == nil:
					if v != id {
						t.Errorf("future %d got %d", id, v)
					}
				case errors.Is(err, context.Canceled) || errors.Is(err, group.ErrClosed):
					c, ok := runs.Load(id)
					if ok && c.(*atomic.Int64).Load() > 0 && !errors.Is(err, context.Canceled) {
						t.Errorf("future %d ran but says %v", id, err)
					}
					if !ok {
						reported.Add(1)
					}
				default:
					t.Errorf("future: %v", err)
				}
			}
		})
	}
	// The limit changes while tasks run; Shutdown comes at a random moment,
	// and sometimes its context ends at another.
	newLimits := make([]int, 50)
	for i := range newLimits {
		newLimits[i] = 1 + rng.IntN(maxLimit)
	}
	shutDelay, cancelDelay, cancelShutdown := rng.IntN(2000), rng.IntN(2000), rng.IntN(2) == 0
	limits := make(chan struct{})
	go func() {
		defer close(limits)
		for _, n := range newLimits {
			ex.SetLimit(n)
			runtime.Gosched()
		}
	}()
	// A monitor checks the invariant behind "the limit is never exceeded
	// and nothing waits needlessly": below the limit, nothing is queued and
	// no Submit waits.
	stopMonitor := make(chan struct{})
	monitored := make(chan struct{})
	go func() {
		defer close(monitored)
		for {
			select {
			case <-stopMonitor:
				return
			default:
			}
			if st := ex.Stats(); st.Running < st.Limit && (st.Queued > 0 || st.Waiting > 0) {
				t.Errorf("%d running under a limit of %d while %d are queued and %d wait", st.Running, st.Limit, st.Queued, st.Waiting)
				return
			}
			runtime.Gosched()
		}
	}()
	close(start)
	shutCtx, cancelShut := context.WithCancel(context.Background())
	shutErr := make(chan error, 1)
	go func() {
		for range shutDelay {
			runtime.Gosched()
		}
		shutErr <- ex.Shutdown(shutCtx)
	}()
	if cancelShutdown {
		go func() {
			for range cancelDelay {
				runtime.Gosched()
			}
			cancelShut()
		}()
	}
	wg.Wait()
	<-limits
	err := <-shutErr
	cancelShut()
	close(stopMonitor)
	<-monitored

	st := ex.Stats()
	ran := int64(0)
	runs.Range(func(_, v any) bool {
		if v.(*atomic.Int64).Load() != 1 {
			t.Errorf("a task ran %d times", v.(*atomic.Int64).Load())
		}
		ran++
		return true
	})
	assert.False(t, futureRanTwice.Load())
	assert.LessOrEqual(t, peak.Load(), int64(maxLimit), "limit exceeded")
	assert.Equal(t, uint64(accepted.Load()), st.Submitted)
	assert.Equal(t, st.Submitted, st.Completed+st.Cancelled+st.Dropped, "every accepted task ran or was reported")
	assert.Equal(t, uint64(ran), st.Completed)
	assert.Zero(t, st.Running)
	assert.Zero(t, st.Queued)
	assert.Zero(t, st.Workers)
	assert.Equal(t, int64(submitters), accepted.Load()+closedOrFull.Load())
	assert.LessOrEqual(t, reported.Load(), int64(st.Cancelled+st.Dropped))
	if st.Dropped > 0 {
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("%d accepted tasks never ran", st.Dropped))
	} else {
		assert.NoError(t, err)
	}
}

func TestFutureCancelAdmitsWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
		g := newGate()
		require.NoError(t, ex.Submit(context.Background(), g.task))
		f, err := group.SubmitFunc(context.Background(), ex, func(context.Context) (int, error) { return 1, nil })
		require.NoError(t, err)
		errc := make(chan error)
		go func() { errc <- ex.Submit(context.Background(), g.task) }()
		synctest.Wait()
		assert.Equal(t, 1, ex.Stats().Waiting)
		f.Cancel() // its room goes to the waiting Submit at once
		require.NoError(t, <-errc)
		st := ex.Stats()
		assert.Equal(t, 1, st.Queued)
		assert.Zero(t, st.Waiting)
		close(g.release)
		shutdown(t, ex)
		assert.Equal(t, uint64(2), ex.Stats().Completed)
	})
}

func TestExecutorSetLimitAdmitsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(0))
		g := newGate()
		require.NoError(t, ex.Submit(context.Background(), g.task))
		errc := make(chan error, 2)
		for range 2 {
			go func() { errc <- ex.Submit(context.Background(), g.task) }()
		}
		synctest.Wait()
		assert.Equal(t, 2, ex.Stats().Waiting)
		ex.SetLimit(3) // both start
		require.NoError(t, <-errc)
		require.NoError(t, <-errc)
		synctest.Wait()
		assert.Equal(t, int64(3), g.in.Load())
		close(g.release)
		shutdown(t, ex)
	})
}

func TestExecutorConcurrentShutdown(t *testing.T) {
	ex := group.NewExecutor(context.Background(), group.Limit(2))
	g := newGate()
	for range 4 {
		require.NoError(t, ex.Submit(context.Background(), g.task))
	}
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- ex.Shutdown(context.Background()) }()
	}
	close(g.release)
	for range 3 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, uint64(4), ex.Stats().Completed)
}

func TestExecutorQueueWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ex := group.NewExecutor(context.Background(), group.Limit(1))
		require.NoError(t, ex.Submit(context.Background(), func(context.Context) error {
			time.Sleep(time.Second)
			return nil
		}))
		done := make(chan struct{})
		require.NoError(t, ex.Submit(context.Background(), func(context.Context) error { close(done); return nil }))
		<-done
		assert.Equal(t, time.Second, ex.Stats().QueueWait)
		shutdown(t, ex)
	})
}

// TestExecutorParentCancelledWhileQueued is pond #61 and #138: cancelling
// the parent context while tasks are queued must not deadlock; the queued
// tasks still run (and see their context done), and Shutdown returns.
func TestExecutorParentCancelledWhileQueued(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ex := group.NewExecutor(parent, group.Limit(2), group.Queue(100))
	g := newGate()
	for range 2 {
		require.NoError(t, ex.Submit(context.Background(), g.task))
	}
	var sawDone atomic.Int64
	for range 50 {
		require.NoError(t, ex.Submit(context.Background(), func(ctx context.Context) error {
			if ctx.Err() != nil {
				sawDone.Add(1)
			}
			return ctx.Err()
		}))
	}
	cancel()
	close(g.release)
	shutdown(t, ex)
	assert.Equal(t, int64(50), sawDone.Load())
	st := ex.Stats()
	assert.Equal(t, uint64(52), st.Completed)
	assert.Equal(t, uint64(50), st.Failed)
}

// TestExecutorSubmitAllocs guards the claim of BenchmarkExecutorTiny: a
// fire-and-forget task costs the Executor no allocation once its workers
// and queue are warm (at most one is the bound).
func TestExecutorSubmitAllocs(t *testing.T) {
	// A queue that never fills: a Submit that waited would allocate its
	// place in line.
	ex := group.NewExecutor(context.Background(), group.Limit(2), group.Queue(1<<20))
	defer shutdown(t, ex)
	var n atomic.Int64
	task := func(context.Context) error { n.Add(1); return nil }
	ctx := context.Background()
	for range 2000 { // warm: workers started, queue ring grown
		require.NoError(t, ex.Submit(ctx, task))
	}
	allocs := testing.AllocsPerRun(1000, func() { _ = ex.Submit(ctx, task) })
	assert.LessOrEqual(t, allocs, 0.1)
}
