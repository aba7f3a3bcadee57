package limiter_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/weftgo/weft/limiter"
)

// rateAdmitting returns a limiter that admits every call of a benchmark
// (up to 2³⁰) while doing the full GCRA update on each; its bucket is never
// full again, so Keyed keeps it.
func rateAdmitting() *limiter.Rate { return limiter.NewRate(1, 1<<30) }

func BenchmarkRateAllow(b *testing.B) {
	r := rateAdmitting()
	b.ReportAllocs()
	for b.Loop() {
		r.Allow()
	}
}

func BenchmarkRateAllowParallel(b *testing.B) {
	r := rateAdmitting()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Allow()
		}
	})
}

func BenchmarkRateDenyParallel(b *testing.B) {
	r := limiter.NewRate(1e-3, 1)
	r.Allow()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r.Allow() {
				b.Fatal("admitted")
			}
		}
	})
}

func BenchmarkRateWaitNoDelay(b *testing.B) {
	r := rateAdmitting()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Wait(ctx)
	}
}

func BenchmarkKeyedAllowParallel(b *testing.B) {
	const keys = 10_000
	names := make([]string, keys)
	for i := range names {
		names[i] = "user-" + strconv.Itoa(i)
	}
	k := limiter.NewKeyed(func(string) *limiter.Rate { return rateAdmitting() }, limiter.MaxKeys(2*keys))
	for _, n := range names {
		k.Allow(n)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k.Allow(names[i%keys])
			i += 7919
		}
	})
}

// BenchmarkKeyedNewKeys admits the first event of a new key each time, with
// keys going idle a millisecond later, so that every call creates a limiter
// and the sweep forgets idle ones as it goes.
func BenchmarkKeyedNewKeys(b *testing.B) {
	k := limiter.NewKeyed(func(int) *limiter.Rate { return limiter.NewRate(1000, 1) })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k.Allow(i)
		i++
	}
	b.ReportMetric(float64(k.Len()), "keys")
}
