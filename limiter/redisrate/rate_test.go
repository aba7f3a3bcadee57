package redisrate_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/limiter/redisrate"
)

// TestMatchesLimiterRate drives limiter.Rate (in a synctest bubble) and Rate
// (with the script's clock set by the test) through the same random
// schedules of AllowN and WaitN, and checks that every decision and every
// wait agree to the nanosecond.
func TestMatchesLimiterRate(t *testing.T) {
	c := newClient(t, redisURL)
	ctx := context.Background()
	type step struct {
		dt      time.Duration // since the previous step, whole µs
		n       int
		maxWait time.Duration // 0: AllowN; otherwise WaitN with this deadline
	}
	type outcome struct {
		ok   bool
		wait time.Duration
	}
	waited := 0 // reservations that had to wait, over all cases
	defer func() { assert.Positive(t, waited) }()
	for _, tc := range []struct {
		perSecond float64
		burst     int
	}{
		{1000, 1}, {100, 5}, {3, 4}, {7, 10}, {0.5, 2}, {1e6, 50}, {3e9, 3},
	} {
		t.Run(strconv.FormatFloat(tc.perSecond, 'g', -1, 64)+"/"+strconv.Itoa(tc.burst), func(t *testing.T) {
			r := redisrate.NewRate(c, newKey(t), tc.perSecond, tc.burst, redisrate.Timeout(10*time.Second))
			interval := int64(r.Interval())
			rng := rand.New(rand.NewPCG(uint64(tc.burst), uint64(tc.perSecond)))
			steps := make([]step, 300)
			for i := range steps {
				s := step{dt: time.Duration(rng.Int64N(3*interval/1000+2)) * time.Microsecond, n: rng.IntN(tc.burst + 2)}
				if rng.IntN(4) == 0 && s.n >= 1 && s.n <= tc.burst {
					s.maxWait = time.Duration(1 + rng.Int64N(4*interval))
				}
				steps[i] = s
			}

			want := make([]outcome, len(steps))
			synctest.Test(t, func(t *testing.T) {
				lr := limiter.NewRate(tc.perSecond, tc.burst)
				var wg sync.WaitGroup
				for i, s := range steps {
					time.Sleep(s.dt)
					if s.maxWait == 0 {
						want[i].ok = lr.AllowN(s.n)
						continue
					}
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), s.maxWait)
						defer cancel()
						start := time.Now()
						err := lr.WaitN(ctx, s.n)
						wait := time.Since(start)
						// A wait of exactly maxWait may see the deadline first.
						ok := err == nil || errors.Is(err, context.DeadlineExceeded) && wait == s.maxWait
						if !ok && !errors.Is(err, limiter.ErrRateExceeded) {
							t.Errorf("step %d: %v", i, err)
						}
						want[i] = outcome{ok, wait}
					})
					synctest.Wait() // it has reserved
				}
				wg.Wait()
			})

			nowUs := time.Now().UnixMicro()
			r.SetNow(func() int64 { return nowUs })
			admitted := 0
			for i, s := range steps {
				nowUs += s.dt.Microseconds()
				var got outcome
				var err error
				if s.maxWait == 0 {
					got.ok, err = r.AllowN(ctx, s.n)
				} else {
					got.ok, got.wait, err = r.Reserve(ctx, s.n, s.maxWait)
				}
				require.NoError(t, err)
				require.Equal(t, want[i], got, "step %d: %+v", i, s)
				if got.ok && s.n > 0 {
					admitted++
				}
				if got.wait > 0 {
					waited++
				}
			}
			assert.Greater(t, admitted, len(steps)/10)
		})
	}
}

// TestAllow checks the edges of Allow and AllowN on the server's own clock,
// with a rate slow enough that nothing refills during the test.
func TestAllow(t *testing.T) {
	c := newClient(t, redisURL)
	ctx := context.Background()
	key := newKey(t)
	r := redisrate.NewRate(c, key, 0.01, 3)
	for i := range 3 {
		ok, err := r.Allow(ctx)
		require.NoError(t, err)
		require.True(t, ok, "event %d of the burst", i)
	}
	for _, tc := range []struct {
		n       int
		ok      bool
		wantErr bool
	}{
		{n: 1}, {n: 0, ok: true}, {n: 4},
	} {
		ok, err := r.AllowN(ctx, tc.n)
		assert.Equal(t, tc.ok, ok, "AllowN(%d)", tc.n)
		assert.Equal(t, tc.wantErr, err != nil, "AllowN(%d): %v", tc.n, err)
	}
	ok, err := redisrate.NewRate(c, key+"inf", redisrate.Inf, 1).AllowN(ctx, 1000)
	assert.True(t, ok)
	assert.NoError(t, err)
}

// TestKeyExpiry checks what an admission stores: tat in ns since the Unix
// epoch by the server's clock, expiring when the bucket is full again; and
// that a refusal writes nothing.
func TestKeyExpiry(t *testing.T) {
	c := newClient(t, redisURL)
	ctx := context.Background()
	key := newKey(t)
	r := redisrate.NewRate(c, key, 0.1, 3) // 10s per event

	before := time.Now()
	ok, err := r.AllowN(ctx, 2)
	require.NoError(t, err)
	require.True(t, ok)
	after := time.Now()
	tat, err := c.Get(ctx, key).Int64()
	require.NoError(t, err)
	// The server's clock is this machine's.
	assert.GreaterOrEqual(t, tat, before.Add(20*time.Second).UnixNano()/1000*1000)
	assert.LessOrEqual(t, tat, after.Add(20*time.Second).UnixNano())
	ttl := c.PTTL(ctx, key).Val()
	assert.Greater(t, ttl, 10*time.Second)
	assert.LessOrEqual(t, ttl, 20*time.Second)

	ok, err = r.AllowN(ctx, 2) // one token left: refused
	require.NoError(t, err)
	require.False(t, ok)
	assert.Equal(t, strconv.FormatInt(tat, 10), c.Get(ctx, key).Val())
	assert.LessOrEqual(t, c.PTTL(ctx, key).Val(), ttl)
}

// TestWait checks that WaitN reserves in order and sleeps for its turn, and
// its refusals.
func TestWait(t *testing.T) {
	c := newClient(t, redisURL)
	// No wait here should take long, and none may hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	key := newKey(t)
	r := redisrate.NewRate(c, key, 1000, 1) // one event per ms
	start := time.Now()
	for range 5 {
		require.NoError(t, r.Wait(ctx))
	}
	// The first is at once, each other waits for its ms (the local sleep
	// starts after the server's decision, so it can only be longer).
	assert.GreaterOrEqual(t, time.Since(start), 3*time.Millisecond)

	slow := redisrate.NewRate(c, key+"slow", 0.01, 2) // one event per 100s
	require.NoError(t, slow.WaitN(ctx, 2))
	err := slow.Wait(ctx)
	assert.ErrorIs(t, err, redisrate.ErrRateExceeded, "the wait would end past the deadline")
	assert.ErrorIs(t, slow.WaitN(ctx, 3), redisrate.ErrRateExceeded, "n > burst")
	assert.PanicsWithValue(t, "redisrate: Rate.WaitN(-1): n must be >= 0", func() { _ = slow.WaitN(ctx, -1) })
	assert.NoError(t, slow.WaitN(ctx, 0))

	cctx, stop := context.WithCancelCause(ctx)
	cause := errors.New("caller gave up")
	stop(cause)
	assert.ErrorIs(t, slow.Wait(cctx), cause)

	// Cancelling a wait in progress (of 100s) returns the cause at once.
	queued := redisrate.NewRate(c, key+"queued", 0.01, 1)
	require.NoError(t, queued.Wait(ctx))
	longer, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cctx, stop = context.WithCancelCause(longer)
	var wg sync.WaitGroup
	var got error
	wg.Go(func() { got = queued.Wait(cctx) })
	time.Sleep(time.Millisecond)
	stop(cause)
	wg.Wait()
	assert.ErrorIs(t, got, cause)
}

// TestKeyed checks that keys are independent and stored under the prefix.
func TestKeyed(t *testing.T) {
	c := newClient(t, redisURL)
	ctx := context.Background()
	prefix := newKey(t) + ":"
	k := redisrate.NewKeyed(c, prefix, 0.01, 2)
	for _, key := range []string{"alice", "bob"} {
		ok, err := k.AllowN(ctx, key, 2)
		require.NoError(t, err)
		require.True(t, ok, key)
		ok, err = k.Allow(ctx, key)
		require.NoError(t, err)
		require.False(t, ok, key)
		assert.Equal(t, int64(1), c.Exists(ctx, prefix+key).Val())
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	assert.ErrorIs(t, k.Wait(dctx, "alice"), redisrate.ErrRateExceeded, "the next event is 100s away")
	assert.Equal(t, int64(0), c.Exists(ctx, prefix+"carol").Val(), "a key no one used")
}

// TestReplicas runs many Rate values on one key from many goroutines, as
// replicas would, and checks that together they never admit more than
// burst + rate·t (+ R·(n−1) with leases of n).
func TestReplicas(t *testing.T) {
	const (
		perSecond = 2000.0
		burst     = 20
		replicas  = 4
		workers   = 4 // goroutines per replica
		calls     = 60
	)
	for _, lease := range []int{1, 10} {
		t.Run("lease="+strconv.Itoa(lease), func(t *testing.T) {
			c := newClient(t, redisURL)
			ctx := context.Background()
			var admitted atomic.Int64
			var wg sync.WaitGroup
			key := newKey(t)
			start := time.Now()
			for range replicas {
				r := redisrate.NewRate(c, key, perSecond, burst, redisrate.Lease(lease), redisrate.Timeout(10*time.Second))
				for range workers {
					wg.Go(func() {
						for range calls {
							ok, err := r.Allow(ctx)
							if assert.NoError(t, err) && ok {
								admitted.Add(1)
							}
						}
					})
				}
			}
			wg.Wait()
			elapsed := time.Since(start)
			// Every decision happened on the server within elapsed.
			bound := burst + int64(perSecond*elapsed.Seconds()) + replicas*int64(lease-1)
			assert.LessOrEqual(t, admitted.Load(), bound, "in %v", elapsed)
			assert.GreaterOrEqual(t, admitted.Load(), int64(burst))
		})
	}
}
