package compare

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	conciter "github.com/sourcegraph/conc/iter"
	"github.com/sourcegraph/conc/stream"
	"golang.org/x/sync/errgroup"

	"github.com/weftgo/weft/group"
)

// mapSquare is a trivial item: the per-item overhead is all that is measured.
func mapSquare(x int) int { return x * x }

// mapSpin burns about a microsecond of CPU without sleeping.
func mapSpin(x int) int {
	h := uint64(x)
	for range 700 {
		h = h*6364136223846793005 + 1442695040888963407
	}
	return int(h >> 33)
}

// mapImpls are the ways to apply f to every item on GOMAXPROCS goroutines
// and collect the results in input order.
var mapImpls = []struct {
	name string
	run  func(items []int, f func(int) int) []int
}{
	{"weft", func(items []int, f func(int) int) []int {
		out, err := group.Map(context.Background(), items, func(_ context.Context, x int) (int, error) { return f(x), nil })
		if err != nil {
			panic(err)
		}
		return out
	}},
	{"floor", func(items []int, f func(int) int) []int {
		// GOMAXPROCS goroutines claiming indexes with one atomic add each.
		out := make([]int, len(items))
		var next atomic.Int64
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(items); i = int(next.Add(1) - 1) {
					out[i] = f(items[i])
				}
			})
		}
		wg.Wait()
		return out
	}},
	{"errgroup", func(items []int, f func(int) int) []int {
		out := make([]int, len(items))
		g, _ := errgroup.WithContext(context.Background())
		g.SetLimit(runtime.GOMAXPROCS(0))
		for i, x := range items {
			g.Go(func() error { out[i] = f(x); return nil })
		}
		if err := g.Wait(); err != nil {
			panic(err)
		}
		return out
	}},
	{"conc", func(items []int, f func(int) int) []int {
		return conciter.Map(items, func(x *int) int { return f(*x) })
	}},
}

func mapItems(n int) []int {
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	return items
}

func benchMap(b *testing.B, n int, f func(int) int) {
	items := mapItems(n)
	for _, impl := range mapImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.run(items, f)
			}
		})
	}
}

// BenchmarkMapTrivial squares 100k ints: per-item overhead.
func BenchmarkMapTrivial(b *testing.B) { benchMap(b, 100_000, mapSquare) }

// BenchmarkMapSpin maps 1k items of about 1µs of CPU each.
func BenchmarkMapSpin(b *testing.B) { benchMap(b, 1000, mapSpin) }

// TestMapAgree checks that every Map implementation computes the same slice.
func TestMapAgree(t *testing.T) {
	items := mapItems(10_000)
	want := make([]int, len(items))
	for i, x := range items {
		want[i] = mapSpin(x)
	}
	for _, impl := range mapImpls {
		if got := impl.run(items, mapSpin); !slices.Equal(got, want) {
			t.Errorf("%s: results differ", impl.name)
		}
	}
}

// mapSeqImpls stream n items through f on GOMAXPROCS goroutines and consume
// the results in input order, summing them.
var mapSeqImpls = []struct {
	name string
	run  func(n int, f func(int) int) int
}{
	{"weft", func(n int, f func(int) int) int {
		sum := 0
		seq := group.MapSeq(context.Background(), mapSeqRange(n), func(_ context.Context, x int) (int, error) { return f(x), nil })
		for v, err := range seq {
			if err != nil {
				panic(err)
			}
			sum = sum*31 + v
		}
		return sum
	}},
	{"conc", func(n int, f func(int) int) int {
		sum := 0
		s := stream.New().WithMaxGoroutines(runtime.GOMAXPROCS(0))
		for x := range mapSeqRange(n) {
			s.Go(func() stream.Callback {
				v := f(x)
				return func() { sum = sum*31 + v }
			})
		}
		s.Wait()
		return sum
	}},
}

func mapSeqRange(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// BenchmarkMapSeq streams items through MapSeq and conc's ordered stream.
func BenchmarkMapSeq(b *testing.B) {
	for _, sc := range []struct {
		name string
		n    int
		f    func(int) int
	}{{"trivial", 10_000, mapSquare}, {"spin", 1000, mapSpin}} {
		for _, impl := range mapSeqImpls {
			b.Run(fmt.Sprintf("%s/%s", sc.name, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					impl.run(sc.n, sc.f)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sc.n), "ns/item")
			})
		}
	}
}

// TestMapSeqAgree checks that the streams yield the same results in the same
// order.
func TestMapSeqAgree(t *testing.T) {
	want := mapSeqImpls[0].run(5000, mapSpin)
	for _, impl := range mapSeqImpls[1:] {
		if got := impl.run(5000, mapSpin); got != want {
			t.Errorf("%s: %d, want %d", impl.name, got, want)
		}
	}
}
