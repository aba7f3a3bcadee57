package compare

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/semaphore"

	"github.com/weftgo/weft/limiter"
)

// semaphoreImpl is what the Semaphore scenarios need from an implementation.
type semaphoreImpl interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

func semaphoreImpls(size int64) map[string]semaphoreImpl {
	return map[string]semaphoreImpl{
		"weft":       limiter.NewSemaphore(size),
		"xsemaphore": semaphore.NewWeighted(size),
	}
}

// BenchmarkSemaphoreAcquireRelease acquires and releases one permit of a
// free semaphore from one goroutine. The floor is an atomic add and subtract.
func BenchmarkSemaphoreAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		var n atomic.Int64
		for b.Loop() {
			n.Add(1)
			n.Add(-1)
		}
	})
	// Each implementation is called through its concrete type, as a user
	// would: an interface call would stop the compiler from inlining.
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		s := limiter.NewSemaphore(10)
		for b.Loop() {
			_ = s.Acquire(ctx, 1)
			s.Release(1)
		}
	})
	b.Run("xsemaphore", func(b *testing.B) {
		b.ReportAllocs()
		s := semaphore.NewWeighted(10)
		for b.Loop() {
			_ = s.Acquire(ctx, 1)
			s.Release(1)
		}
	})
}

// BenchmarkSemaphoreParallel acquires and releases one permit from
// GOMAXPROCS goroutines at once. With n=1000 permits never run out (the
// contention is on the semaphore's memory); with n=1 callers queue and each
// permit is handed from one goroutine to the next. The floor is an atomic add
// and subtract for n=1000 and a sync.Mutex for n=1.
func BenchmarkSemaphoreParallel(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int64{1000, 1} {
		b.Run(fmt.Sprintf("n=%d/floor", size), func(b *testing.B) {
			b.ReportAllocs()
			if size == 1 {
				var (
					mu   sync.Mutex
					held int
				)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						mu.Lock()
						held++
						held--
						mu.Unlock()
					}
				})
				return
			}
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n.Add(1)
					n.Add(-1)
				}
			})
		})
		b.Run(fmt.Sprintf("n=%d/weft", size), func(b *testing.B) {
			b.ReportAllocs()
			s := limiter.NewSemaphore(size)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = s.Acquire(ctx, 1)
					s.Release(1)
				}
			})
		})
		b.Run(fmt.Sprintf("n=%d/xsemaphore", size), func(b *testing.B) {
			b.ReportAllocs()
			s := semaphore.NewWeighted(size)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = s.Acquire(ctx, 1)
					s.Release(1)
				}
			})
		})
	}
}

// TestSemaphoreParallelAgree checks that under the Parallel scenario every
// implementation lets no more than its size hold permits at once and lets
// every caller through.
func TestSemaphoreParallelAgree(t *testing.T) {
	const (
		size    = 3
		workers = 8
		loops   = 500
	)
	for name, s := range semaphoreImpls(size) {
		var inUse, peak, total atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range loops {
					if err := s.Acquire(context.Background(), 1); err != nil {
						t.Errorf("%s: Acquire: %v", name, err)
						return
					}
					n := inUse.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					total.Add(1)
					inUse.Add(-1)
					s.Release(1)
				}
			})
		}
		wg.Wait()
		if peak.Load() > size {
			t.Errorf("%s: %d permits held at once, size %d", name, peak.Load(), size)
		}
		if total.Load() != workers*loops {
			t.Errorf("%s: %d acquisitions, want %d", name, total.Load(), workers*loops)
		}
	}
}
