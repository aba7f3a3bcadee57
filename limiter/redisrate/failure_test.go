package redisrate_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter/redisrate"
)

// TestFailurePolicy kills Redis under a limiter and brings it back: fail
// closed refuses with the cause, fail open admits, both report to OnError,
// and both recover.
func TestFailurePolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  redisrate.Option
		open bool
	}{
		{"default", nil, false},
		{"FailClosed", redisrate.FailClosed(), false},
		{"FailOpen", redisrate.FailOpen(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ownServer(t)
			c := newClient(t, s.url)
			ctx := context.Background()
			var reported atomic.Int64
			var last atomic.Value
			opts := []redisrate.Option{redisrate.Timeout(200 * time.Millisecond), redisrate.OnError(func(err error) {
				reported.Add(1)
				last.Store(err)
			})}
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			r := redisrate.NewRate(c, "k", 1000, 10, opts...)
			k := redisrate.NewKeyed(c, "p:", 1000, 10, opts...)

			ok, err := r.Allow(ctx)
			require.NoError(t, err)
			require.True(t, ok)

			s.kill()
			ok, err = r.Allow(ctx)
			assert.Equal(t, tc.open, ok)
			kok, kerr := k.Allow(ctx, "u")
			assert.Equal(t, tc.open, kok)
			werr := r.Wait(ctx)
			if tc.open {
				assert.NoError(t, err)
				assert.NoError(t, kerr)
				assert.NoError(t, werr)
			} else {
				for _, e := range []error{err, kerr, werr} {
					assert.ErrorIs(t, e, redisrate.ErrUnavailable)
					assert.NotEqual(t, redisrate.ErrUnavailable, e, "the cause is wrapped too")
				}
			}
			assert.Equal(t, int64(3), reported.Load())
			assert.ErrorIs(t, last.Load().(error), redisrate.ErrUnavailable)

			restarted, err := startServer(s.dir)
			require.NoError(t, err)
			t.Cleanup(restarted.kill)
			ok, err = r.Allow(ctx)
			assert.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, int64(3), reported.Load())
		})
	}
}

// TestSlowRedis pauses Redis: the per-call timeout bounds each call, and a
// caller whose own context ends first gets its cause, without the policy.
func TestSlowRedis(t *testing.T) {
	s := ownServer(t)
	c := newClient(t, s.url)
	ctx := context.Background()
	var reported atomic.Int64
	onError := redisrate.OnError(func(error) { reported.Add(1) })
	closed := redisrate.NewRate(c, "closed", 1000, 10, redisrate.Timeout(50*time.Millisecond), onError)
	open := redisrate.NewRate(c, "open", 1000, 10, redisrate.Timeout(50*time.Millisecond), onError, redisrate.FailOpen())
	patient := redisrate.NewRate(c, "patient", 1000, 10, redisrate.Timeout(time.Minute), onError)
	for _, r := range []*redisrate.Rate{closed, open} { // connect while Redis answers
		_, err := r.Allow(ctx)
		require.NoError(t, err)
	}

	s.pause()
	defer s.resume()
	start := time.Now()
	ok, err := closed.Allow(ctx)
	assert.False(t, ok)
	assert.ErrorIs(t, err, redisrate.ErrUnavailable)
	ok, err = open.Allow(ctx)
	assert.True(t, ok)
	assert.NoError(t, err)
	assert.Less(t, time.Since(start), 5*time.Second, "two calls of 50ms each")
	assert.Equal(t, int64(2), reported.Load())

	cctx, cancel := context.WithTimeoutCause(ctx, 50*time.Millisecond, errors.New("caller's deadline"))
	defer cancel()
	ok, err = patient.Allow(cctx)
	assert.False(t, ok)
	assert.EqualError(t, err, "caller's deadline")
	assert.Equal(t, int64(2), reported.Load(), "the caller's own deadline is not a Redis failure")
}

// TestNoScript checks that the script survives SCRIPT FLUSH: EVALSHA fails
// with NOSCRIPT once, EVAL runs it and loads it again.
func TestNoScript(t *testing.T) {
	c := newClient(t, redisURL)
	var rt roundTrips
	c.AddHook(&rt)
	ctx := context.Background()
	r := redisrate.NewRate(c, newKey(t), 1000, 10)
	for range 3 {
		require.NoError(t, c.ScriptFlush(ctx).Err())
		for _, want := range []int64{2, 1} { // EVALSHA and EVAL, then EVALSHA
			rt.n.Store(0)
			ok, err := r.Allow(ctx)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, want, rt.n.Load())
		}
	}
}

// TestLease checks that leases take as many tokens as the bucket holds, up to
// n, spend them locally, and cut round trips.
func TestLease(t *testing.T) {
	c := newClient(t, redisURL)
	var rt roundTrips
	c.AddHook(&rt)
	ctx := context.Background()
	nowUs := time.Now().UnixMicro()
	now := func() int64 { return nowUs }
	key := newKey(t)
	newRate := func() *redisrate.Rate {
		r := redisrate.NewRate(c, key, 10, 20, redisrate.Lease(10))
		r.SetNow(now)
		return r
	}
	a, b, other := newRate(), newRate(), newRate()
	allow := func(r *redisrate.Rate, n int) bool {
		t.Helper()
		ok, err := r.AllowN(ctx, n)
		require.NoError(t, err)
		return ok
	}
	require.True(t, allow(a, 1))      // takes 10, keeps 9
	require.True(t, allow(b, 3))      // takes 10, keeps 7
	require.False(t, allow(other, 1)) // Redis is empty
	rt.n.Store(0)
	for range 9 {
		require.True(t, allow(a, 1))
	}
	require.True(t, allow(b, 7))
	assert.Equal(t, int64(0), rt.n.Load(), "spent locally")
	require.False(t, allow(a, 1))

	nowUs += 500_000 // 5 tokens earned: a lease takes what there is
	require.True(t, allow(a, 2))
	require.True(t, allow(a, 3))
	require.False(t, allow(b, 1))
	nowUs += 200_000
	require.True(t, allow(b, 1)) // takes 2, keeps 1
	require.False(t, allow(b, 2))
	require.True(t, allow(b, 1))

	// Sequential calls on a fast rate: one round trip per 100 events.
	fast := redisrate.NewRate(c, key+"fast", 1e6, 1000, redisrate.Lease(100))
	require.True(t, allow(fast, 1))
	rt.n.Store(0)
	for range 999 {
		require.True(t, allow(fast, 1))
	}
	assert.LessOrEqual(t, rt.n.Load(), int64(10))
}

// TestRefusalCache checks that after a refusal a Rate decides locally until
// the time Redis gave, and asks again from then on.
func TestRefusalCache(t *testing.T) {
	c := newClient(t, redisURL)
	var rt roundTrips
	c.AddHook(&rt)
	ctx := context.Background()
	// Connect and load the script before counting.
	key := newKey(t)
	_, err := redisrate.NewRate(c, key+"warm", 100, 2).Allow(ctx)
	require.NoError(t, err)
	r := redisrate.NewRate(c, key, 100, 2) // 10ms per event
	nowUs := time.Now().UnixMicro()
	r.SetNow(func() int64 { return nowUs })
	for _, step := range []struct {
		dtUs       int64
		n          int
		ok         bool
		roundTrips int64
	}{
		{0, 2, true, 1},
		{0, 1, false, 1}, // the next event fits in 10ms
		{0, 1, false, 0},
		{9999, 1, false, 0},
		{1, 2, false, 1}, // one event fits, two do not: nothing to remember
		{0, 1, true, 1},
	} {
		nowUs += step.dtUs
		rt.n.Store(0)
		ok, err := r.AllowN(ctx, step.n)
		require.NoError(t, err)
		assert.Equal(t, step.ok, ok, "%+v", step)
		assert.Equal(t, step.roundTrips, rt.n.Load(), "%+v", step)
	}
}

// TestPanics checks that bad configuration panics with a message naming it.
func TestPanics(t *testing.T) {
	c := newClient(t, redisURL)
	noCtx := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = noCtx.Close() })
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"nil client", "client must not be nil", func() { redisrate.NewRate(nil, "k", 1, 1) }},
		{"empty key", `NewRate("", 1, 1): key must not be empty`, func() { redisrate.NewRate(c, "", 1, 1) }},
		{"zero rate", "NewRate(\"k\", 0, 1): perSecond must be positive", func() { redisrate.NewRate(c, "k", 0, 1) }},
		{"NaN rate", "perSecond must be positive", func() { redisrate.NewKeyed(c, "k", math.NaN(), 1) }},
		{"zero burst", "NewKeyed(\"p\", 1, 0): burst must be at least 1", func() { redisrate.NewKeyed(c, "p", 1, 0) }},
		{"too slow", "must not exceed 13 days", func() { redisrate.NewRate(c, "k", 1e-7, 1) }},
		{"lease above burst", "Lease(11) must not exceed the burst", func() { redisrate.NewRate(c, "k", 1, 10, redisrate.Lease(11)) }},
		{"keyed lease", "Lease(2) is not supported", func() { redisrate.NewKeyed(c, "p", 1, 10, redisrate.Lease(2)) }},
		{"lease 0", "Lease(0): n must be at least 1", func() { redisrate.Lease(0) }},
		{"negative timeout", "Timeout(-1s): d must not be negative", func() { redisrate.Timeout(-time.Second) }},
		{"nil hook", "OnError(nil)", func() { redisrate.OnError(nil) }},
		{"no context timeouts", "Timeout(250ms) needs a client with ContextTimeoutEnabled", func() { redisrate.NewRate(noCtx, "k", 1, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r)
				assert.Contains(t, r, tc.want)
			}()
			tc.f()
		})
	}
	assert.NotPanics(t, func() { redisrate.NewRate(noCtx, "k", 1, 1, redisrate.Timeout(0)) })
}
