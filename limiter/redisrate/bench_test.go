package redisrate_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter/redisrate"
)

// The benchmarks compare weft with go-redis/redis_rate (impl "redisrate") on
// the same server, named for internal/compare/cmd/table:
//
//	go test -bench . -benchmem | (cd ../../internal/compare && go run ./cmd/table)
//
// Each reports roundtrips/op, counted by a go-redis hook.

// Limits for the benchmarks: open admits every call (the bucket refills far
// faster than calls arrive), closed refuses all but the first.
const (
	openRate, openBurst = 1e6, 1_000_000
	closedBurst         = 1
)

var (
	openLimit   = redis_rate.Limit{Rate: openRate, Period: time.Second, Burst: openBurst}
	closedLimit = redis_rate.Limit{Rate: 1, Period: 100 * time.Second, Burst: closedBurst}
)

// benchClient returns a client of the shared server that counts round trips
// and reports them per op when b ends.
func benchClient(b *testing.B) *goredis.Client {
	c := newClient(b, redisURL)
	rt := &roundTrips{}
	c.AddHook(rt)
	b.Cleanup(func() { b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op") })
	return c
}

// Decisions benchAllow expects.
const (
	admit = iota
	refuse
	either
)

// benchAllow runs allow b.N times, in parallel when parallel is set, and
// fails on an error or a decision other than want.
func benchAllow(b *testing.B, parallel bool, want int, allow func(i int) (bool, error)) {
	b.ReportAllocs()
	check := func(ok bool, err error) {
		if err != nil || want == admit && !ok || want == refuse && ok {
			b.Fatalf("allow = %v, %v; want %v", ok, err, want)
		}
	}
	if !parallel {
		i := 0
		for b.Loop() {
			check(allow(i))
			i++
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			check(allow(i))
		}
	})
}

// BenchmarkRedisAllow is one Allow round trip that admits, one call at a
// time (latency) and from GOMAXPROCS goroutines (throughput).
func BenchmarkRedisAllow(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []struct {
		name     string
		parallel bool
	}{{"seq", false}, {"parallel", true}} {
		b.Run(mode.name+"/weft", func(b *testing.B) {
			r := redisrate.NewRate(benchClient(b), newKey(b), openRate, openBurst)
			benchAllow(b, mode.parallel, admit, func(int) (bool, error) { return r.Allow(ctx) })
		})
		b.Run(mode.name+"/redisrate", func(b *testing.B) {
			l := redis_rate.NewLimiter(benchClient(b))
			key := newKey(b)
			benchAllow(b, mode.parallel, admit, func(int) (bool, error) {
				res, err := l.Allow(ctx, key, openLimit)
				return err == nil && res.Allowed > 0, err
			})
		})
	}
}

// BenchmarkRedisAllowRefused is one Allow round trip that refuses.
func BenchmarkRedisAllowRefused(b *testing.B) {
	ctx := context.Background()
	b.Run("weft", func(b *testing.B) {
		r := redisrate.NewRate(benchClient(b), newKey(b), 0.01, closedBurst)
		_, _ = r.Allow(ctx)
		benchAllow(b, false, refuse, func(int) (bool, error) { return r.Allow(ctx) })
	})
	b.Run("redisrate", func(b *testing.B) {
		l := redis_rate.NewLimiter(benchClient(b))
		key := newKey(b)
		_, _ = l.Allow(ctx, key, closedLimit)
		benchAllow(b, false, refuse, func(int) (bool, error) {
			res, err := l.Allow(ctx, key, closedLimit)
			return err == nil && res.Allowed > 0, err
		})
	})
}

// BenchmarkRedisKeyed is one Allow round trip per call on 1000 rotating keys,
// as per-user limits see them.
func BenchmarkRedisKeyed(b *testing.B) {
	ctx := context.Background()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "user" + strconv.Itoa(i)
	}
	b.Run("weft", func(b *testing.B) {
		k := redisrate.NewKeyed(benchClient(b), newKey(b)+":", openRate, openBurst)
		benchAllow(b, true, admit, func(i int) (bool, error) { return k.Allow(ctx, keys[i%len(keys)]) })
	})
	b.Run("redisrate", func(b *testing.B) {
		l := redis_rate.NewLimiter(benchClient(b))
		prefix := newKey(b) + ":"
		benchAllow(b, true, admit, func(i int) (bool, error) {
			res, err := l.Allow(ctx, prefix+keys[i%len(keys)], openLimit)
			return err == nil && res.Allowed > 0, err
		})
	})
}

// BenchmarkRedisAllowLease100 is Allow with Lease(100), against redis_rate's
// one round trip per call: the lease takes 100 tokens per round trip. On a
// fast machine it may outrun the rate, so refusals are fine here.
func BenchmarkRedisAllowLease100(b *testing.B) {
	ctx := context.Background()
	b.Run("weft", func(b *testing.B) {
		r := redisrate.NewRate(benchClient(b), newKey(b), openRate, openBurst, redisrate.Lease(100))
		benchAllow(b, true, either, func(int) (bool, error) { return r.Allow(ctx) })
	})
	b.Run("redisrate", func(b *testing.B) {
		l := redis_rate.NewLimiter(benchClient(b))
		key := newKey(b)
		benchAllow(b, true, either, func(int) (bool, error) {
			res, err := l.Allow(ctx, key, openLimit)
			return err == nil && res.Allowed > 0, err
		})
	})
}

// TestRedisAllowAgree checks that weft and redis_rate, given the same limit,
// admit the burst and refuse the next call, and that a lease of 100 needs
// 20 times fewer round trips than one per call.
func TestRedisAllowAgree(t *testing.T) {
	c := newClient(t, redisURL)
	ctx := context.Background()
	key := newKey(t)
	r := redisrate.NewRate(c, key, 0.01, 5)
	l := redis_rate.NewLimiter(c)
	limit := redis_rate.Limit{Rate: 1, Period: 100 * time.Second, Burst: 5}
	for i := range 6 {
		ok, err := r.Allow(ctx)
		require.NoError(t, err)
		res, err := l.Allow(ctx, key, limit)
		require.NoError(t, err)
		assert.Equal(t, i < 5, ok, "weft, call %d", i)
		assert.Equal(t, i < 5, res.Allowed > 0, "redis_rate, call %d", i)
	}

	var rt roundTrips
	c.AddHook(&rt)
	leased := redisrate.NewRate(c, key+"lease", openRate, openBurst, redisrate.Lease(100))
	for range 2000 {
		ok, err := leased.Allow(ctx)
		require.NoError(t, err)
		require.True(t, ok)
	}
	assert.LessOrEqual(t, rt.n.Load(), int64(2000/20))
}
