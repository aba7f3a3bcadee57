package weftotel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/weftotel"
)

// fastPath is one instrumented fast path: build makes a fresh primitive and
// returns the call to time and its registration.
type fastPath struct {
	name  string
	build func(m metric.Meter) (call func(), reg func() (metric.Registration, error))
}

var fastPaths = []fastPath{
	{"BreakerClosed", func(m metric.Meter) (func(), func() (metric.Registration, error)) {
		b := breaker.New(breaker.FailureRate(0.5, breaker.Window(100)))
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		return func() { _ = b.Do(ctx, fn) },
			func() (metric.Registration, error) { return weftotel.Breaker(m, "bench", b) }
	}},
	{"BreakerConsecutive", func(m metric.Meter) (func(), func() (metric.Registration, error)) {
		b := breaker.New() // registered, it counts its successes, which its window does not
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		return func() { _ = b.Do(ctx, fn) },
			func() (metric.Registration, error) { return weftotel.Breaker(m, "bench", b) }
	}},
	{"BreakerTimed", func(m metric.Meter) (func(), func() (metric.Registration, error)) {
		b := breaker.New()
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		return func() { _ = b.Do(ctx, fn) },
			func() (metric.Registration, error) { return weftotel.Breaker(m, "bench", b, weftotel.CallDurations()) }
	}},
	{"RateAllow", func(m metric.Meter) (func(), func() (metric.Registration, error)) {
		r := limiter.NewRate(1e12, 1<<20) // admits every call of the benchmark
		return func() { r.Allow() },
			func() (metric.Registration, error) { return weftotel.Rate(m, "bench", r) }
	}},
	{"BulkheadFree", func(m metric.Meter) (func(), func() (metric.Registration, error)) {
		bh := limiter.NewBulkhead(1<<20, 0)
		ctx := context.Background()
		fn := func(context.Context) error { return nil }
		return func() { _ = bh.Do(ctx, fn) },
			func() (metric.Registration, error) { return weftotel.Bulkhead(m, "bench", bh) }
	}},
}

// BenchmarkFastPath times each fast path bare and with weftotel registered
// on an SDK meter (collected once first, so that the callbacks have run),
// from one goroutine (serial) and from GOMAXPROCS goroutines (parallel).
func BenchmarkFastPath(b *testing.B) {
	for _, fp := range fastPaths {
		for _, parallel := range []bool{false, true} {
			for _, registered := range []bool{false, true} {
				name := fp.name + map[bool]string{false: "/serial", true: "/parallel"}[parallel] +
					map[bool]string{false: "/bare", true: "/registered"}[registered]
				b.Run(name, func(b *testing.B) {
					r := newReader(b)
					call, reg := fp.build(r.mp.Meter("test"))
					if registered {
						rg, err := reg()
						if err != nil {
							b.Fatal(err)
						}
						defer rg.Unregister()
						r.collect()
					}
					b.ReportAllocs()
					if !parallel {
						for b.Loop() {
							call()
						}
						return
					}
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							call()
						}
					})
				})
			}
		}
	}
}

// TestFastPathAllocs guards the 0 allocs of the instrumented fast paths.
func TestFastPathAllocs(t *testing.T) {
	for _, fp := range fastPaths {
		r := newReader(t)
		call, reg := fp.build(r.mp.Meter("test"))
		rg, err := reg()
		if err != nil {
			t.Fatal(err)
		}
		r.collect()
		if n := testing.AllocsPerRun(100, call); n != 0 {
			t.Errorf("%s with weftotel registered: %v allocs per call, want 0", fp.name, n)
		}
		_ = rg.Unregister()
	}
}
