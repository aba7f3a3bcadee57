package compare

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/bulkhead"

	"github.com/weftgo/weft/limiter"
)

// bulkheadImpls returns, for each implementation, a function that runs fn
// under a bulkhead of maxConcurrent slots whose callers wait (rather than
// being rejected) while the slots are busy.
func bulkheadImpls(maxConcurrent int) map[string]func(fn func() error) error {
	wb := limiter.NewBulkhead(maxConcurrent, 1<<20)
	fb := failsafe.With[any](bulkhead.NewBuilder[any](uint(maxConcurrent)).WithMaxWaitTime(time.Hour).Build())
	ctx := context.Background()
	return map[string]func(fn func() error) error{
		"weft":     func(fn func() error) error { return wb.Do(ctx, func(context.Context) error { return fn() }) },
		"failsafe": fb.Run,
	}
}

// BenchmarkBulkheadDo runs a trivial function through a bulkhead with free
// slots from one goroutine. The floor is an atomic add and subtract around
// the call.
func BenchmarkBulkheadDo(b *testing.B) {
	ctx := context.Background()
	fn := func(context.Context) error { return nil }
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		var n atomic.Int64
		for b.Loop() {
			n.Add(1)
			_ = fn(ctx)
			n.Add(-1)
		}
	})
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		bh := limiter.NewBulkhead(10, 10)
		for b.Loop() {
			_ = bh.Do(ctx, fn)
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		b.ReportAllocs()
		ex := failsafe.With[any](bulkhead.New[any](10))
		run := func() error { return nil }
		for b.Loop() {
			_ = ex.Run(run)
		}
	})
}

// BenchmarkBulkheadDoParallel runs a trivial function through a bulkhead from
// GOMAXPROCS goroutines. With n=1000 slots never run out; with n=1 callers
// wait their turn.
func BenchmarkBulkheadDoParallel(b *testing.B) {
	for _, n := range []int{1000, 1} {
		b.Run(fmt.Sprintf("n=%d/floor", n), func(b *testing.B) {
			b.ReportAllocs()
			var c atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Add(1)
					c.Add(-1)
				}
			})
		})
		for _, name := range []string{"weft", "failsafe"} {
			do := bulkheadImpls(n)[name]
			fn := func() error { return nil }
			b.Run(fmt.Sprintf("n=%d/%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = do(fn)
					}
				})
			})
		}
	}
}

// TestBulkheadDoAgree checks that every implementation runs every call, no
// more than maxConcurrent at once, and returns the function's error.
func TestBulkheadDoAgree(t *testing.T) {
	const (
		maxConcurrent = 3
		workers       = 8
		loops         = 200
	)
	errOdd := errors.New("odd")
	for name, do := range bulkheadImpls(maxConcurrent) {
		var inUse, peak, calls, odd atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range loops {
					err := do(func() error {
						n := inUse.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						calls.Add(1)
						inUse.Add(-1)
						if (w+i)%2 == 1 {
							return errOdd
						}
						return nil
					})
					if errors.Is(err, errOdd) {
						odd.Add(1)
					} else if err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			})
		}
		wg.Wait()
		if peak.Load() > maxConcurrent {
			t.Errorf("%s: %d calls at once, max %d", name, peak.Load(), maxConcurrent)
		}
		if calls.Load() != workers*loops || odd.Load() != workers*loops/2 {
			t.Errorf("%s: %d calls, %d errors; want %d, %d", name, calls.Load(), odd.Load(), workers*loops, workers*loops/2)
		}
	}
}
