package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftgo/weft/pool"
)

func benchPool(b *testing.B, opts ...pool.Option) *pool.Pool[*conn] {
	p := pool.New(func(context.Context) (*conn, error) { return &conn{}, nil }, nil, opts...)
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// BenchmarkAcquireRelease acquires and releases an idle resource from one
// goroutine.
func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts []pool.Option
	}{
		{"plain", []pool.Option{pool.MaxSize(4)}},
		{"timed", []pool.Option{pool.MaxSize(4), pool.IdleTTL(time.Hour), pool.MaxLifetime(time.Hour)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := benchPool(b, bc.opts...)
			b.ReportAllocs()
			for b.Loop() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				r.Release()
			}
		})
	}
}

// BenchmarkAcquireReleaseParallel acquires and releases from GOMAXPROCS
// goroutines over a pool of 4: callers wait whenever more than 4 run.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	ctx := context.Background()
	p := benchPool(b, pool.MaxSize(4))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			r.Release()
		}
	})
}

// BenchmarkWith runs an empty function through With.
func BenchmarkWith(b *testing.B) {
	ctx := context.Background()
	p := benchPool(b, pool.MaxSize(4))
	fn := func(context.Context, *conn) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := pool.With(ctx, p, fn); err != nil {
			b.Fatal(err)
		}
	}
}
