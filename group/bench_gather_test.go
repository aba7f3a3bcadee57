package group_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftgo/weft/group"
)

// gatherSquare is a trivial item: these benchmarks measure per-item overhead.
func gatherSquare(_ context.Context, x int) (int, error) { return x * x, nil }

// gatherReportPerItem reports ns/item and allocs/item for n items per op.
func gatherReportPerItem(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

func BenchmarkMap(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		items := gatherInts(n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = group.Map(context.Background(), items, gatherSquare)
			}
			gatherReportPerItem(b, n)
		})
	}
}

func BenchmarkForEach(b *testing.B) {
	items := gatherInts(100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = group.ForEach(context.Background(), items, func(context.Context, int) error { return nil })
	}
	gatherReportPerItem(b, len(items))
}

func BenchmarkSettle(b *testing.B) {
	items := gatherInts(100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = group.Settle(context.Background(), items, gatherSquare)
	}
	gatherReportPerItem(b, len(items))
}

// BenchmarkMapSeq is the streaming counterpart of BenchmarkMap: compare
// ns/item and allocs/op with it.
func BenchmarkMapSeq(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			seq := func(yield func(int) bool) {
				for i := range n {
					if !yield(i) {
						return
					}
				}
			}
			for b.Loop() {
				for _, err := range group.MapSeq(context.Background(), seq, gatherSquare) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			gatherReportPerItem(b, n)
		})
	}
}

func BenchmarkFirst(b *testing.B) {
	fns := []func(context.Context) (int, error){
		func(context.Context) (int, error) { return 1, nil },
		func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = group.First(context.Background(), fns...)
	}
}
