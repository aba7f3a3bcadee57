package group_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/weftgo/weft/group"
)

// BenchmarkExecutorSubmit submits tiny tasks from one goroutine to an
// Executor of GOMAXPROCS workers.
func BenchmarkExecutorSubmit(b *testing.B) {
	b.ReportAllocs()
	ex := group.NewExecutor(context.Background(), group.Limit(runtime.GOMAXPROCS(0)), group.Queue(1024))
	var sink atomic.Int64
	task := func(context.Context) error { sink.Add(1); return nil }
	ctx := context.Background()
	for b.Loop() {
		_ = ex.Submit(ctx, task)
	}
	_ = ex.Shutdown(ctx)
}

// BenchmarkExecutorSubmitParallel is BenchmarkExecutorSubmit from
// GOMAXPROCS goroutines.
func BenchmarkExecutorSubmitParallel(b *testing.B) {
	b.ReportAllocs()
	ex := group.NewExecutor(context.Background(), group.Limit(runtime.GOMAXPROCS(0)), group.Queue(1024))
	var sink atomic.Int64
	task := func(context.Context) error { sink.Add(1); return nil }
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = ex.Submit(ctx, task)
		}
	})
	_ = ex.Shutdown(ctx)
}

// BenchmarkExecutorTrySubmitFull measures the rejection of a task by a full
// Executor.
func BenchmarkExecutorTrySubmitFull(b *testing.B) {
	b.ReportAllocs()
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
	release := make(chan struct{})
	block := func(context.Context) error { <-release; return nil }
	_ = ex.TrySubmit(block)
	_ = ex.TrySubmit(block)
	nop := func(context.Context) error { return nil }
	for b.Loop() {
		if ex.TrySubmit(nop) != group.ErrFull {
			b.Fatal("accepted")
		}
	}
	close(release)
	_ = ex.Shutdown(context.Background())
}

// BenchmarkExecutorFuture submits a task with SubmitFunc and waits for its
// value, from GOMAXPROCS goroutines.
func BenchmarkExecutorFuture(b *testing.B) {
	b.ReportAllocs()
	ex := group.NewExecutor(context.Background(), group.Limit(runtime.GOMAXPROCS(0)))
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := group.SubmitFunc(ctx, ex, fn)
			if err != nil {
				panic(err)
			}
			_, _ = f.Wait(ctx)
		}
	})
	_ = ex.Shutdown(ctx)
}
