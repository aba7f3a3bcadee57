package retry_test

import (
	"context"
	"testing"

	"github.com/weftgo/weft/retry"
)

func BenchmarkDo(b *testing.B) {
	ctx := context.Background()
	n := 0
	fn := func(context.Context) error {
		if n++; n < 4 {
			return errBoom
		}
		return nil
	}
	ok := func(context.Context) error { return nil }
	b.Run("first try", func(b *testing.B) {
		p := retry.New()
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Do(ctx, ok)
		}
	})
	b.Run("4 tries zero delay", func(b *testing.B) {
		p := retry.New(retry.Constant(0))
		b.ReportAllocs()
		for b.Loop() {
			n = 0
			_ = p.Do(ctx, fn)
		}
	})
	b.Run("4 tries exhausted", func(b *testing.B) {
		p := retry.New(retry.Constant(0))
		fail := func(context.Context) error { return errBoom }
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Do(ctx, fail)
		}
	})
	b.Run("Get first try", func(b *testing.B) {
		p := retry.New()
		get := func(context.Context) (int, error) { return 1, nil }
		b.ReportAllocs()
		for b.Loop() {
			_, _ = retry.Get(ctx, p, get)
		}
	})
}

// BenchmarkBudgetParallel measures a Budget shared by every goroutine: each
// call deposits, and every other call fails once and withdraws.
func BenchmarkBudgetParallel(b *testing.B) {
	ctx := context.Background()
	p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(retry.NewBudget(1, 100)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		tries := 0
		flaky := func(context.Context) error {
			if tries++; tries%3 == 1 {
				return errBoom
			}
			return nil
		}
		for pb.Next() {
			_ = p.Do(ctx, flaky)
		}
	})
}
