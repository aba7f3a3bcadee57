package breaker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/breaker"
)

func ok(context.Context) error { return nil }

// BenchmarkDoClosed measures a closed breaker's call path with a trivial fn.
func BenchmarkDoClosed(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name     string
		opts     []breaker.Option
		counting bool // Stats called first: successes are counted
	}{
		{"consecutive", nil, false},
		{"consecutive/counting", nil, true},
		{"window", []breaker.Option{breaker.FailureRate(0.5, breaker.Window(100))}, true},
		{"timewindow", []breaker.Option{breaker.FailureRate(0.5, breaker.TimeWindow(10*time.Second, 10))}, false},
		{"slowcalls", []breaker.Option{breaker.SlowCalls(time.Second, 0.5)}, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			br := breaker.New(c.opts...)
			if c.counting {
				br.Stats()
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = br.Do(ctx, ok)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			br := breaker.New(c.opts...)
			if c.counting {
				br.Stats()
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = br.Do(ctx, ok)
				}
			})
		})
	}
	b.Run("floor", func(b *testing.B) {
		var state atomic.Uint32
		fn := ok
		for b.Loop() {
			if state.Load() == 0 {
				_ = fn(ctx)
			}
		}
	})
}

// BenchmarkReject measures an open breaker's rejection.
func BenchmarkReject(b *testing.B) {
	ctx := context.Background()
	br := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Hour))
	_ = br.Do(ctx, func(context.Context) error { return errBoom })
	b.ReportAllocs()
	for b.Loop() {
		_ = br.Do(ctx, ok)
	}
}
