package limiter_test

import (
	"context"
	"testing"

	"github.com/weftgo/weft/limiter"
)

func BenchmarkSemaphoreAcquireRelease(b *testing.B) {
	s := limiter.NewSemaphore(10)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Acquire(ctx, 1)
		s.Release(1)
	}
}

func BenchmarkSemaphoreTryAcquireRelease(b *testing.B) {
	s := limiter.NewSemaphore(10)
	b.ReportAllocs()
	for b.Loop() {
		s.TryAcquire(1)
		s.Release(1)
	}
}

// BenchmarkSemaphoreHandoff measures the queued path: GOMAXPROCS goroutines
// share one permit, so nearly every Acquire waits and is handed the permit.
func BenchmarkSemaphoreHandoff(b *testing.B) {
	s := limiter.NewSemaphore(1)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Acquire(ctx, 1)
			s.Release(1)
		}
	})
}

func BenchmarkBulkheadDo(b *testing.B) {
	bh := limiter.NewBulkhead(10, 10)
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = bh.Do(ctx, fn)
	}
}

func BenchmarkAdaptiveAcquire(b *testing.B) {
	a := limiter.NewAdaptive()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		done, _ := a.Acquire(ctx)
		done(nil)
	}
}
