package compare

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sourcegraph/conc"
	"golang.org/x/sync/errgroup"
)

var groupSizes = []int{10, 1000}

// BenchmarkGroupGoWait starts n trivial tasks and waits for them, with no
// limit on concurrency.
func BenchmarkGroupGoWait(b *testing.B) {
	for _, n := range groupSizes {
		b.Run(fmt.Sprintf("n=%d/floor", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() { defer wg.Done(); sink.Add(int64(i)) }()
				}
				wg.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/errgroup", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				g, _ := errgroup.WithContext(context.Background())
				for i := range n {
					g.Go(func() error { sink.Add(int64(i)); return nil })
				}
				_ = g.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/conc", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				var wg conc.WaitGroup
				for i := range n {
					wg.Go(func() { sink.Add(int64(i)) })
				}
				wg.Wait()
			}
		})
	}
}

// TestGroupGoWaitAgree checks that every implementation of the GoWait
// scenario runs each task exactly once.
func TestGroupGoWaitAgree(t *testing.T) {
	const n = 1000
	want := int64(n * (n - 1) / 2)
	var floor, eg, cc atomic.Int64

	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); floor.Add(int64(i)) }()
	}
	wg.Wait()

	g, _ := errgroup.WithContext(context.Background())
	for i := range n {
		g.Go(func() error { eg.Add(int64(i)); return nil })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	var cw conc.WaitGroup
	for i := range n {
		cw.Go(func() { cc.Add(int64(i)) })
	}
	cw.Wait()

	for name, got := range map[string]int64{"floor": floor.Load(), "errgroup": eg.Load(), "conc": cc.Load()} {
		if got != want {
			t.Errorf("%s: sum = %d, want %d", name, got, want)
		}
	}
}
