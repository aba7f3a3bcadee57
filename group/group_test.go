package group_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/group"
)

var (
	errGroupA = errors.New("a failed")
	errGroupB = errors.New("b failed")
	errStop   = errors.New("stop")
)

// groupAfter returns a task that sleeps d (fake time in a bubble) and then
// returns err, or returns ctx's error if ctx is done first.
func groupAfter(d time.Duration, err error) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-time.After(d):
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// groupPanicky panics with v; its name is what the re-raised panic must show.
func groupPanicky(v any) func(context.Context) error {
	return func(context.Context) error { panic(v) }
}

// groupRecover runs f and returns what it panicked with, or nil.
func groupRecover(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestGroupErrorPolicy(t *testing.T) {
	tests := []struct {
		name  string
		opts  []group.Option
		tasks []func(context.Context) error
		want  []error // errors.Is(err, w) for each; nil: Wait returns nil
		count int     // how many errors the result joins (1 for a plain error)
		cause error   // context.Cause of the tasks' ctx once they have ended
	}{
		{
			name:  "all succeed",
			tasks: []func(context.Context) error{groupAfter(time.Second, nil), groupAfter(2*time.Second, nil)},
			cause: group.ErrDone,
		},
		{
			name:  "first error cancels siblings",
			tasks: []func(context.Context) error{groupAfter(time.Second, errGroupA), groupAfter(time.Hour, nil), groupAfter(2*time.Second, errGroupB)},
			want:  []error{errGroupA},
			count: 1,
			cause: errGroupA,
		},
		{
			name:  "keep going joins all in order",
			opts:  []group.Option{group.KeepGoing()},
			tasks: []func(context.Context) error{groupAfter(2*time.Second, errGroupB), groupAfter(time.Second, errGroupA), groupAfter(3*time.Second, nil)},
			want:  []error{errGroupA, errGroupB},
			count: 2,
			cause: group.ErrDone,
		},
		{
			name:  "panic as error cancels like an error",
			opts:  []group.Option{group.PanicAsError()},
			tasks: []func(context.Context) error{groupPanicky(errGroupA), groupAfter(time.Hour, nil)},
			want:  []error{errGroupA},
			count: 1,
		},
		{
			name:  "keep going with panic as error does not cancel",
			opts:  []group.Option{group.KeepGoing(), group.PanicAsError()},
			tasks: []func(context.Context) error{groupPanicky(errGroupA), groupAfter(time.Second, errGroupB)},
			want:  []error{errGroupA, errGroupB},
			count: 2,
			cause: group.ErrDone,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := group.New(t.Context(), tt.opts...)
				var ctxs atomic.Value
				for _, task := range tt.tasks {
					g.Go(func(ctx context.Context) error { ctxs.Store(ctx); return task(ctx) })
				}
				start := time.Now()
				err := g.Wait()
				if tt.want == nil {
					require.NoError(t, err)
				}
				for _, w := range tt.want {
					require.ErrorIs(t, err, w)
				}
				if tt.count > 1 {
					joined, ok := err.(interface{ Unwrap() []error })
					require.True(t, ok, "KeepGoing error is a join")
					require.Len(t, joined.Unwrap(), tt.count)
					assert.ErrorIs(t, joined.Unwrap()[0], tt.want[0], "joined in the order they occurred")
				}
				assert.Less(t, time.Since(start), time.Hour, "siblings were cancelled or ended")
				taskCtx := ctxs.Load().(context.Context)
				require.Error(t, taskCtx.Err(), "the group's context is done after Wait")
				if tt.cause != nil {
					assert.ErrorIs(t, context.Cause(taskCtx), tt.cause)
				}
			})
		})
	}
}

func TestGroupSiblingsSeeCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		var sawErr, sawCause error
		g.Go(func(ctx context.Context) error {
			<-ctx.Done()
			sawErr, sawCause = ctx.Err(), context.Cause(ctx)
			return ctx.Err()
		})
		g.Go(groupAfter(time.Second, errGroupA))
		err := g.Wait()
		assert.Equal(t, errGroupA, err, "the real error, not the Canceled echo")
		assert.Equal(t, context.Canceled, sawErr)
		assert.Equal(t, errGroupA, sawCause)
	})
}

func TestGroupEchoesReportedOnce(t *testing.T) {
	tests := []struct {
		name   string
		opts   []group.Option
		cancel func(g *group.Group, parent context.CancelCauseFunc)
		want   error
	}{
		{"Cancel, keep going", []group.Option{group.KeepGoing()}, func(g *group.Group, _ context.CancelCauseFunc) { g.Cancel(errStop) }, errStop},
		{"Cancel, first error", nil, func(g *group.Group, _ context.CancelCauseFunc) { g.Cancel(errStop) }, errStop},
		{"Cancel(nil)", []group.Option{group.KeepGoing()}, func(g *group.Group, _ context.CancelCauseFunc) { g.Cancel(nil) }, context.Canceled},
		{"parent cancelled, keep going", []group.Option{group.KeepGoing()}, func(_ *group.Group, p context.CancelCauseFunc) { p(errStop) }, errStop},
		{"parent cancelled, first error", nil, func(_ *group.Group, p context.CancelCauseFunc) { p(errStop) }, errStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				parent, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				g := group.New(parent, tt.opts...)
				for range 5 {
					g.Go(func(ctx context.Context) error {
						<-ctx.Done()
						return fmt.Errorf("wrapped: %w", ctx.Err())
					})
				}
				g.Go(func(context.Context) error { return nil })
				synctest.Wait()
				tt.cancel(g, cancel)
				err := g.Wait()
				require.ErrorIs(t, err, tt.want)
				assert.Equal(t, tt.want.Error(), err.Error(), "the cause, reported once")
			})
		})
	}
}

func TestGroupCancelWithoutFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		g.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
		synctest.Wait()
		g.Cancel(errStop)
		assert.NoError(t, g.Wait(), "tasks that stop cleanly make no error")
	})
}

func TestGroupPanicReraised(t *testing.T) {
	for _, keepGoing := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepGoing=%v", keepGoing), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var opts []group.Option
				if keepGoing {
					opts = append(opts, group.KeepGoing())
				}
				g := group.New(t.Context(), opts...)
				var siblingCause error
				g.Go(func(ctx context.Context) error {
					<-ctx.Done()
					siblingCause = context.Cause(ctx)
					return nil
				})
				g.Go(groupPanicky("boom"))
				v := groupRecover(func() { _ = g.Wait() })
				pe, ok := v.(*group.PanicError)
				require.True(t, ok, "Wait panics with a *PanicError, got %T", v)
				assert.Equal(t, "boom", pe.Value)
				assert.False(t, pe.Goexit)
				assert.Contains(t, string(pe.Stack), "groupPanicky", "the task's own frames")
				assert.Contains(t, pe.Error(), "boom")
				assert.Contains(t, pe.Error(), "groupPanicky", "the message carries the stack")
				assert.Same(t, pe, siblingCause, "siblings were cancelled with the panic")
			})
		})
	}
}

func TestGroupPanicWinsOverError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		g.Go(groupAfter(time.Second, errGroupA))
		g.Go(func(ctx context.Context) error {
			<-ctx.Done()
			panic("late")
		})
		v := groupRecover(func() { _ = g.Wait() })
		pe, ok := v.(*group.PanicError)
		require.True(t, ok, "a panic is never swallowed, got %v", v)
		assert.Equal(t, "late", pe.Value)
	})
}

func TestGroupPanicAsError(t *testing.T) {
	g := group.New(t.Context(), group.PanicAsError())
	g.Go(groupPanicky(errGroupA))
	err := g.Wait()
	var pe *group.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, errGroupA, pe.Value)
	assert.ErrorIs(t, err, errGroupA, "Unwrap reaches an error panic value")
	assert.Contains(t, string(pe.Stack), "groupPanicky")
}

func TestGroupGoexit(t *testing.T) {
	for _, asError := range []bool{false, true} {
		t.Run(fmt.Sprintf("asError=%v", asError), func(t *testing.T) {
			var opts []group.Option
			if asError {
				opts = append(opts, group.PanicAsError())
			}
			g := group.New(t.Context(), opts...)
			var ran atomic.Int64
			sibling := make(chan struct{})
			g.Go(func(context.Context) error { <-sibling; runtime.Goexit(); return nil })
			g.Go(func(ctx context.Context) error { close(sibling); <-ctx.Done(); ran.Add(1); return nil })
			var err error
			v := groupRecover(func() { err = g.Wait() })
			if !asError {
				err, _ = v.(error)
			}
			var pe *group.PanicError
			require.ErrorAs(t, err, &pe, "Goexit is reported, not mistaken for success")
			assert.True(t, pe.Goexit)
			assert.Nil(t, pe.Value)
			assert.Equal(t, int64(1), ran.Load(), "the sibling was cancelled and awaited")
		})
	}
}

func TestGroupGoexitAtLimitHandsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context(), group.Limit(1), group.KeepGoing(), group.PanicAsError())
		release := make(chan struct{})
		g.Go(func(context.Context) error { <-release; runtime.Goexit(); return nil })
		var ran atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.Go(func(context.Context) error { ran.Store(true); return nil })
		}()
		synctest.Wait()
		close(release)
		<-done
		var pe *group.PanicError
		require.ErrorAs(t, g.Wait(), &pe)
		assert.True(t, pe.Goexit)
		assert.True(t, ran.Load(), "the waiting task ran after the slot's goroutine exited")
	})
}

func TestGroupGoNamed(t *testing.T) {
	tests := []struct {
		name string
		opts []group.Option
		task func(context.Context) error
		is   error
	}{
		{"error", nil, func(context.Context) error { return errGroupA }, errGroupA},
		{"keep going", []group.Option{group.KeepGoing()}, func(context.Context) error { return errGroupA }, errGroupA},
		{"panic as error", []group.Option{group.PanicAsError()}, groupPanicky(errGroupB), errGroupB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := group.New(t.Context(), tt.opts...)
			g.GoNamed("fetch users", tt.task)
			err := g.Wait()
			require.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), `group: task "fetch users": `)
		})
	}
}

func TestGroupLimitNeverExceeded(t *testing.T) {
	defer goleak.VerifyNone(t) // the idle workers have ended too
	const n, limit = 10_000, 4
	g := group.New(t.Context(), group.Limit(limit))
	var cur, peak, ran atomic.Int64
	for range n {
		g.Go(func(context.Context) error {
			c := cur.Add(1)
			for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
			}
			runtime.Gosched()
			ran.Add(1)
			cur.Add(-1)
			return nil
		})
	}
	require.NoError(t, g.Wait())
	assert.Equal(t, int64(n), ran.Load())
	assert.LessOrEqual(t, peak.Load(), int64(limit))
	assert.Equal(t, group.Stats{Running: 0, Started: n, Failed: 0, Completed: n}, g.Stats())
}

func TestGroupLimitBlocks(t *testing.T) {
	tests := []struct {
		name    string
		unblock func(g *group.Group, release chan struct{})
		started bool
		err     error
	}{
		{"slot frees", func(_ *group.Group, release chan struct{}) { close(release) }, true, nil},
		{"Cancel", func(g *group.Group, _ chan struct{}) { g.Cancel(errStop) }, false, &group.NotStartedError{N: 1, Cause: errStop}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := group.New(t.Context(), group.Limit(1))
				release := make(chan struct{})
				g.Go(func(ctx context.Context) error {
					select {
					case <-release:
					case <-ctx.Done():
					}
					return nil
				})
				var returned, started atomic.Bool
				done := make(chan struct{})
				go func() {
					defer close(done)
					g.Go(func(context.Context) error { started.Store(true); return nil })
					returned.Store(true)
				}()
				synctest.Wait()
				require.False(t, returned.Load(), "Go blocks at the limit")
				assert.Equal(t, 1, g.Stats().Running)
				tt.unblock(g, release)
				<-done
				err := g.Wait()
				assert.Equal(t, tt.started, started.Load())
				assert.Equal(t, tt.err, err)
			})
		})
	}
}

func TestGroupNoStartAfterCancel(t *testing.T) {
	for _, limit := range []int{0, 1} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var opts []group.Option
			if limit > 0 {
				opts = append(opts, group.Limit(limit))
			}
			g := group.New(t.Context(), opts...)
			g.Cancel(errStop)
			var ran atomic.Bool
			g.Go(func(context.Context) error { ran.Store(true); return nil })
			assert.False(t, g.TryGo(func(context.Context) error { ran.Store(true); return nil }))
			err := g.Wait()
			require.ErrorIs(t, err, errStop, "a task not started reports the cause")
			require.ErrorIs(t, err, group.ErrNotStarted)
			assert.EqualError(t, err, "group: 1 task not started: stop", "TryGo's false is not counted")
			assert.False(t, ran.Load())
		})
	}
}

func TestGroupTryGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context(), group.Limit(1))
		release := make(chan struct{})
		require.True(t, g.TryGo(func(context.Context) error { <-release; return nil }))
		assert.False(t, g.TryGo(func(context.Context) error { return nil }), "at the limit")
		close(release)
		synctest.Wait()
		assert.True(t, g.TryGo(func(context.Context) error { return errGroupA }), "a slot is free again")
		assert.Equal(t, errGroupA, g.Wait())
	})
}

func TestGroupMisuse(t *testing.T) {
	tests := []struct {
		name string
		f    func()
		msg  string
	}{
		{"Limit(0)", func() { group.Limit(0) }, "group: Limit(0): n must be at least 1"},
		{"Limit(-3)", func() { group.Limit(-3) }, "group: Limit(-3): n must be at least 1"},
		{"nil fn", func() { group.New(context.Background()).Go(nil) }, "group: nil function"},
		{"nil TryGo fn", func() { group.New(context.Background()).TryGo(nil) }, "group: nil function"},
		//lint:ignore SA1012 the misuse under test
		{"nil context", func() { group.New(nil) }, "group: nil context"}, //nolint:staticcheck // the misuse under test
		{"zero Group", func() { new(group.Group).Go(func(context.Context) error { return nil }) }, "group: Group used without New"},
		{"zero Group Wait", func() { _ = new(group.Group).Wait() }, "group: Group used without New"},
		{"Go after Wait", func() {
			g := group.New(context.Background())
			_ = g.Wait()
			g.Go(func(context.Context) error { return nil })
		}, "group: Go called after Wait returned"},
		{"TryGo after Wait", func() {
			g := group.New(context.Background(), group.Limit(1))
			_ = g.Wait()
			g.TryGo(func(context.Context) error { return nil })
		}, "group: TryGo called after Wait returned"},
		{"nil Start", func() { group.New(context.Background()).Start(nil) }, "group: nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.msg, tt.f)
		})
	}
}

func TestGroupStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context(), group.KeepGoing())
		release := make(chan struct{})
		for i := range 5 {
			g.Go(func(context.Context) error {
				<-release
				if i%2 == 0 {
					return errGroupA
				}
				return nil
			})
		}
		synctest.Wait()
		assert.Equal(t, group.Stats{Running: 5, Started: 5}, g.Stats())
		close(release)
		require.Error(t, g.Wait())
		assert.Equal(t, group.Stats{Running: 0, Started: 5, Failed: 3, Completed: 5}, g.Stats())
	})
}

func TestGroupStart(t *testing.T) {
	tests := []struct {
		name  string
		task  func(ctx context.Context, ready func()) error
		start error // errors.Is(Start's result, start)
		wait  error
	}{
		{"ready", func(ctx context.Context, ready func()) error {
			ready()
			ready()
			<-ctx.Done()
			return nil
		}, nil, nil},
		{"fails first", func(ctx context.Context, ready func()) error { return errGroupA }, errGroupA, errGroupA},
		{"fails after ready", func(ctx context.Context, ready func()) error { ready(); return errGroupB }, nil, errGroupB},
		{"returns before ready", func(ctx context.Context, ready func()) error { return nil }, errors.New("group: Start: task returned before calling ready"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := group.New(t.Context())
				err := g.Start(tt.task)
				if tt.start == nil {
					require.NoError(t, err)
					assert.Equal(t, 1, g.Stats().Started)
					g.Cancel(nil)
				} else {
					require.Error(t, err)
					assert.Equal(t, tt.start.Error(), err.Error())
				}
				assert.Equal(t, tt.wait, g.Wait())
			})
		})
	}
}

func TestGroupStartPanic(t *testing.T) {
	for _, goexit := range []bool{false, true} {
		g := group.New(t.Context())
		err := g.Start(func(context.Context, func()) error {
			if goexit {
				runtime.Goexit()
			}
			panic("early")
		})
		require.EqualError(t, err, "group: Start: task panicked or called runtime.Goexit before calling ready")
		v := groupRecover(func() { _ = g.Wait() })
		pe, ok := v.(*group.PanicError)
		require.True(t, ok, "the group re-raises it, got %T", v)
		assert.Equal(t, goexit, pe.Goexit)
	}
}

func TestGroupReturnedPanicErrorIsAnError(t *testing.T) {
	// A *PanicError a task returns (here from a nested group with
	// PanicAsError) is that task's error, not a panic of the outer group.
	g := group.New(t.Context())
	g.Go(func(ctx context.Context) error {
		inner := group.New(ctx, group.PanicAsError())
		inner.Go(groupPanicky("inner"))
		return inner.Wait()
	})
	var err error
	require.Nil(t, groupRecover(func() { err = g.Wait() }))
	var pe *group.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "inner", pe.Value)
}

func TestGroupStartServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		requests := make(chan int)
		err := g.Start(func(ctx context.Context, ready func()) error {
			ready() // "listening"
			for {
				select {
				case <-requests:
				case <-ctx.Done():
					return nil
				}
			}
		})
		require.NoError(t, err)
		requests <- 1 // would block forever if the server were not running
		g.Cancel(nil)
		require.NoError(t, g.Wait())
	})
}

func TestGroupStartAfterCancel(t *testing.T) {
	g := group.New(t.Context())
	g.Cancel(errStop)
	assert.Equal(t, errStop, g.Start(func(context.Context, func()) error { return nil }))
	err := g.Wait()
	assert.ErrorIs(t, err, errStop)
	assert.Equal(t, &group.NotStartedError{N: 1, Cause: errStop}, err)
}

func TestGroupName(t *testing.T) {
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) { testGroupName(t, limit) })
	}
}

func testGroupName(t *testing.T, limit int) {
	synctest.Test(t, func(t *testing.T) {
		opts := []group.Option{group.Name("indexer")}
		if limit > 0 {
			opts = append(opts, group.Limit(limit))
		}
		g := group.New(t.Context(), opts...)
		release := make(chan struct{})
		var label string
		g.Go(func(ctx context.Context) error {
			label, _ = pprof.Label(ctx, "group")
			<-release
			return nil
		})
		synctest.Wait()
		var buf bytes.Buffer
		require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 1))
		close(release)
		require.NoError(t, g.Wait())
		assert.Equal(t, "indexer", label, "the task's context carries the label")
		assert.Contains(t, buf.String(), `"group":"indexer"`, "the goroutine carries the label")
	})
}

func TestGroupNested(t *testing.T) {
	// The documented pattern: a task that needs subtasks starts a nested
	// group from its own context. It completes even when every level is at
	// its limit; synctest reports a deadlock if it did not.
	synctest.Test(t, func(t *testing.T) {
		var leaves atomic.Int64
		var spawn func(ctx context.Context, depth int) error
		spawn = func(ctx context.Context, depth int) error {
			if depth == 0 {
				time.Sleep(time.Millisecond)
				leaves.Add(1)
				return nil
			}
			inner := group.New(ctx, group.Limit(2))
			for range 4 {
				inner.Go(func(ctx context.Context) error { return spawn(ctx, depth-1) })
			}
			return inner.Wait()
		}
		g := group.New(t.Context(), group.Limit(2))
		for range 4 {
			g.Go(func(ctx context.Context) error { return spawn(ctx, 3) })
		}
		require.NoError(t, g.Wait())
		assert.Equal(t, int64(4*4*4*4), leaves.Load())
	})
}

func TestGroupNestedFailureCancelsOuter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		g.Go(func(ctx context.Context) error {
			inner := group.New(ctx)
			inner.Go(groupAfter(time.Second, errGroupA))
			inner.Go(groupAfter(time.Hour, nil))
			return inner.Wait()
		})
		g.Go(groupAfter(time.Hour, nil))
		start := time.Now()
		assert.Equal(t, errGroupA, g.Wait())
		assert.Equal(t, time.Second, time.Since(start))
	})
}

func TestGroupGoFromTask(t *testing.T) {
	// Go from a task is fine without a limit (and TryGo always is): Wait
	// also waits for tasks started while it waits.
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context())
		var ran atomic.Int64
		var spawn func(depth int) func(context.Context) error
		spawn = func(depth int) func(context.Context) error {
			return func(context.Context) error {
				time.Sleep(time.Millisecond)
				ran.Add(1)
				if depth > 0 {
					g.Go(spawn(depth - 1))
					g.Go(spawn(depth - 1))
				}
				return nil
			}
		}
		g.Go(spawn(5))
		require.NoError(t, g.Wait())
		assert.Equal(t, int64(63), ran.Load())
	})
}

func TestGroupStress(t *testing.T) {
	const n = 10_000
	for round := range 4 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(round), 7))
			opts := []group.Option{group.PanicAsError()}
			if round%2 == 1 {
				opts = append(opts, group.KeepGoing())
			}
			if round >= 2 {
				opts = append(opts, group.Limit(1+r.IntN(8)))
			}
			g := group.New(t.Context(), opts...)
			cancelAt := r.IntN(n)
			var failed atomic.Int64
			for i := range n {
				kind := r.IntN(100)
				if i == cancelAt {
					g.Cancel(errStop)
				}
				g.Go(func(ctx context.Context) error {
					switch {
					case kind < 2:
						failed.Add(1)
						panic(i)
					case kind < 5:
						failed.Add(1)
						return errGroupA
					case kind < 7:
						runtime.Gosched()
						if err := ctx.Err(); err != nil {
							failed.Add(1)
							return err
						}
					}
					return nil
				})
			}
			err := g.Wait()
			require.Error(t, err, "the group was cancelled at %d", cancelAt)
			s := g.Stats()
			assert.Equal(t, 0, s.Running)
			assert.LessOrEqual(t, s.Started, n)
			assert.Equal(t, int(failed.Load()), s.Failed)
			if round%2 == 1 {
				assert.ErrorIs(t, err, errStop, "KeepGoing: the cancellation is among the errors")
				stops := 0
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					if errors.Is(e, errStop) {
						stops++
					}
				}
				assert.Equal(t, 1, stops, "the cause is reported once")
			}
		})
	}
}

func TestGroupTryGoOrInline(t *testing.T) {
	// The other documented pattern for subtasks in a limited group: TryGo,
	// and run the subtask inline when no slot is free. It cannot deadlock.
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context(), group.Limit(2))
		var ran atomic.Int64
		var node func(depth int) func(context.Context) error
		node = func(depth int) func(context.Context) error {
			return func(ctx context.Context) error {
				time.Sleep(time.Millisecond)
				ran.Add(1)
				for range 3 {
					if depth == 0 {
						break
					}
					if child := node(depth - 1); !g.TryGo(child) {
						if err := child(ctx); err != nil {
							return err
						}
					}
				}
				return nil
			}
		}
		g.Go(node(4))
		require.NoError(t, g.Wait())
		assert.Equal(t, int64(1+3+9+27+81), ran.Load())
	})
}

func TestGroupStressPanics(t *testing.T) {
	// Without PanicAsError: Wait re-panics exactly when a task panicked.
	const n = 10_000
	for round := range 4 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(round), 11))
			var opts []group.Option
			if round%2 == 1 {
				opts = append(opts, group.Limit(1+r.IntN(4)), group.KeepGoing())
			}
			g := group.New(t.Context(), opts...)
			var panicked atomic.Int64
			panicAt := r.IntN(n)
			if round >= 2 {
				panicAt = -1 // none
			}
			for i := range n {
				g.Go(func(ctx context.Context) error {
					if i == panicAt {
						panicked.Add(1)
						panic(i)
					}
					if i%97 == 0 && round%2 == 1 {
						return errGroupA
					}
					return nil
				})
			}
			v := groupRecover(func() { _ = g.Wait() })
			if round >= 2 {
				assert.Nil(t, v)
				return
			}
			require.Equal(t, int64(1), panicked.Load())
			pe, ok := v.(*group.PanicError)
			require.True(t, ok, "got %T", v)
			assert.Equal(t, panicAt, pe.Value)
		})
	}
}

func TestGroupWaitTwiceAndConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, limit := range []int{0, 2} {
			opts := []group.Option{group.KeepGoing()}
			if limit > 0 {
				opts = append(opts, group.Limit(limit))
			}
			g := group.New(t.Context(), opts...)
			for i := range 5 {
				g.Go(groupAfter(time.Duration(i)*time.Second, errGroupA))
			}
			errs := make(chan error, 2)
			for range 2 {
				go func() { errs <- g.Wait() }()
			}
			first, second := <-errs, <-errs
			require.Error(t, first)
			assert.Equal(t, first.Error(), second.Error())
			assert.Equal(t, first.Error(), g.Wait().Error(), "a later Wait returns the same")
		}
	})
}

// TestGroupLimitCancelUnblocks checks that Go and Start calls blocked at the
// limit return once the group is cancelled, without starting their task,
// even though the running task ignores its context and holds its slot.
func TestGroupLimitCancelUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := group.New(t.Context(), group.Limit(1))
		release := make(chan struct{})
		g.Go(func(context.Context) error { <-release; return nil })
		var ran atomic.Bool
		goReturned := make(chan struct{})
		startErr := make(chan error, 1)
		go func() {
			defer close(goReturned)
			g.Go(func(context.Context) error { ran.Store(true); return nil })
		}()
		go func() {
			startErr <- g.Start(func(context.Context, func()) error { ran.Store(true); return nil })
		}()
		synctest.Wait()
		assert.Equal(t, group.Stats{Running: 1, Started: 1}, g.Stats())
		g.Cancel(errStop)
		<-goReturned
		assert.Equal(t, errStop, <-startErr)
		close(release)
		err := g.Wait()
		assert.ErrorIs(t, err, group.ErrNotStarted)
		assert.EqualError(t, err, "group: 2 tasks not started: stop", "Wait counts both")
		assert.False(t, ran.Load(), "a task blocked at the limit started after cancel")
		assert.Equal(t, group.Stats{Running: 0, Started: 1, Failed: 0, Completed: 1, Skipped: 2}, g.Stats())
	})
}

// TestGroupAcceptedTaskRuns checks that a task which Go or TryGo handed to a
// worker before Cancel was called runs, and Wait reports no error: only Go
// calls still under way when the context ends leave their task unstarted.
func TestGroupAcceptedTaskRuns(t *testing.T) {
	tests := []struct {
		name  string
		start func(g *group.Group, fn func(context.Context) error)
	}{
		{"Go", func(g *group.Group, fn func(context.Context) error) { g.Go(fn) }},
		{"TryGo", func(g *group.Group, fn func(context.Context) error) { require.True(t, g.TryGo(fn)) }},
	}
	for _, tt := range tests {
		for _, idle := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/idle worker=%v", tt.name, idle), func(t *testing.T) {
				for range 200 {
					g := group.New(context.Background(), group.Limit(2))
					if idle { // a worker waits for the next task
						g.Go(func(context.Context) error { return nil })
						for g.Stats().Running != 0 {
							runtime.Gosched()
						}
					}
					var ran atomic.Bool
					tt.start(g, func(context.Context) error { ran.Store(true); return nil })
					g.Cancel(nil)
					require.NoError(t, g.Wait())
					require.True(t, ran.Load(), "a task accepted before Cancel did not run")
				}
			})
		}
	}
}

// TestGroupGoNamedPanicAndGoexit checks how a named task's panic is reported:
// re-raised as it is, or named with PanicAsError; a Goexit keeps its stack.
func TestGroupGoNamedPanicAndGoexit(t *testing.T) {
	g := group.New(t.Context())
	g.GoNamed("fetch users", groupPanicky("named boom"))
	v := groupRecover(func() { _ = g.Wait() })
	pe, ok := v.(*group.PanicError)
	require.True(t, ok, "got %T", v)
	assert.Equal(t, "named boom", pe.Value)
	assert.Contains(t, string(pe.Stack), "groupPanicky")

	g = group.New(t.Context(), group.PanicAsError(), group.KeepGoing())
	g.GoNamed("exits", func(context.Context) error { runtime.Goexit(); return nil })
	err := g.Wait()
	require.ErrorAs(t, err, &pe)
	assert.True(t, pe.Goexit)
	assert.Equal(t, group.Stats{Started: 1, Failed: 1, Completed: 1, Panicked: 1}, g.Stats())
}

// TestGroupLimitSlowTasks runs tasks slower than a worker's slowTask with Go
// blocked at the limit, the case where a worker yields after taking a task
// (GroupCPU): every task runs once and the limit holds.
func TestGroupLimitSlowTasks(t *testing.T) {
	const n, limit = 300, 2
	g := group.New(t.Context(), group.Limit(limit))
	var cur, peak, ran atomic.Int64
	for range n {
		g.Go(func(context.Context) error {
			c := cur.Add(1)
			for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
			}
			for start := time.Now(); time.Since(start) < 5*time.Microsecond; {
			}
			ran.Add(1)
			cur.Add(-1)
			return nil
		})
	}
	require.NoError(t, g.Wait())
	assert.Equal(t, int64(n), ran.Load())
	assert.LessOrEqual(t, peak.Load(), int64(limit))
}
