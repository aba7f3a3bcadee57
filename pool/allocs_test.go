package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/pool"
)

// TestAcquireReleaseNoAllocs guards the claim that acquiring an idle
// resource and releasing it does not allocate, with and without the options
// that make the pool read the clock, and through With.
func TestAcquireReleaseNoAllocs(t *testing.T) {
	create := func(context.Context) (*conn, error) { return &conn{id: 1}, nil }
	ctx := context.Background()
	cancelCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for name, opts := range map[string][]pool.Option{
		"plain": {pool.MaxSize(4)},
		"timed": {pool.MaxSize(4), pool.IdleTTL(time.Hour), pool.MaxLifetime(time.Hour), pool.CheckAfter(time.Hour),
			pool.Check(func(context.Context, *conn) error { return nil })},
	} {
		p := pool.New(create, nil, opts...)
		r, err := p.Acquire(ctx)
		require.NoError(t, err)
		r.Release()
		fn := func(context.Context, *conn) error { return nil }
		for _, c := range []context.Context{ctx, cancelCtx} {
			if n := testing.AllocsPerRun(100, func() {
				r, _ := p.Acquire(c)
				r.Release()
			}); n != 0 {
				t.Errorf("%s: Acquire+Release: %v allocs, want 0", name, n)
			}
			if n := testing.AllocsPerRun(100, func() { _ = pool.With(c, p, fn) }); n != 0 {
				t.Errorf("%s: With: %v allocs, want 0", name, n)
			}
		}
		if n := testing.AllocsPerRun(100, func() {
			r, _ := p.TryAcquire()
			r.Release()
		}); n != 0 {
			t.Errorf("%s: TryAcquire+Release: %v allocs, want 0", name, n)
		}
		require.NoError(t, p.Close(ctx))
	}
}
