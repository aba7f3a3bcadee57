package group_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/weftgo/weft/group"
)

// The three performance scenarios of the group package, weft only; the same
// scenarios against errgroup and conc are in internal/compare.

// BenchmarkGroupGoWait starts 1000 trivial tasks and waits, with no limit.
func BenchmarkGroupGoWait(b *testing.B) {
	b.ReportAllocs()
	var sink atomic.Int64
	for b.Loop() {
		g := group.New(context.Background())
		for i := range 1000 {
			g.Go(func(context.Context) error { sink.Add(int64(i)); return nil })
		}
		_ = g.Wait()
	}
}

// BenchmarkGroupLimit runs 100k trivial tasks at Limit(GOMAXPROCS).
func BenchmarkGroupLimit(b *testing.B) {
	b.ReportAllocs()
	var sink atomic.Int64
	for b.Loop() {
		g := group.New(context.Background(), group.Limit(runtime.GOMAXPROCS(0)))
		for i := range 100_000 {
			g.Go(func(context.Context) error { sink.Add(int64(i)); return nil })
		}
		_ = g.Wait()
	}
}

// BenchmarkGroupResults collects 1000 values in order.
func BenchmarkGroupResults(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rg := group.NewResults[int](context.Background())
		for i := range 1000 {
			rg.Go(func(context.Context) (int, error) { return i, nil })
		}
		_, _ = rg.Wait()
	}
}

// BenchmarkGroupCPU runs 1000 CPU-bound tasks of a few µs at
// Limit(GOMAXPROCS).
func BenchmarkGroupCPU(b *testing.B) {
	b.ReportAllocs()
	var sink atomic.Uint64
	for b.Loop() {
		g := group.New(context.Background(), group.Limit(runtime.GOMAXPROCS(0)))
		for range 1000 {
			g.Go(func(context.Context) error { sink.Add(groupSpin(2000)); return nil })
		}
		_ = g.Wait()
	}
}

func groupSpin(iters int) uint64 {
	x := uint64(iters)
	for range iters {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
