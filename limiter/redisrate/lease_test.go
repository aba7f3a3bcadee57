package redisrate_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter/redisrate"
)

// deadServer returns the address of a server on 127.0.0.1 that accepts
// connections (the kernel completes them) but never answers, as a stopped
// Redis would, and a client of it.
func deadServer(t *testing.T) *goredis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	c := goredis.NewClient(&goredis.Options{
		Addr: ln.Addr().String(), ContextTimeoutEnabled: true,
		MaxRetries: -1, // one try per call, as a timeout leaves time for
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestLeaseDeadServerNoQueue runs 12 concurrent Allow calls with Lease(5)
// against a server that never answers. While one refill of the lease is in
// flight, the others must wait for its outcome and then apply the failure
// policy at once, not make round trips of their own one after another:
// every call ends within about one per-call Timeout, well inside the
// callers' own deadline, and only the calls that found no refill in flight
// make a round trip (each failed round trip reaches OnError).
func TestLeaseDeadServerNoQueue(t *testing.T) {
	const (
		callers = 12
		timeout = 200 * time.Millisecond
	)
	for _, failOpen := range []bool{true, false} {
		name := "FailClosed"
		policy := redisrate.FailClosed()
		if failOpen {
			name, policy = "FailOpen", redisrate.FailOpen()
		}
		t.Run(name, func(t *testing.T) {
			c := deadServer(t)
			var reported atomic.Int64
			r := redisrate.NewRate(c, "lease", 100, 10, redisrate.Lease(5), redisrate.Timeout(timeout), policy,
				redisrate.OnError(func(error) { reported.Add(1) }))
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				slowest time.Duration
				results []error
				allowed int
			)
			start := make(chan struct{})
			for range callers {
				wg.Go(func() {
					<-start
					ctx, cancel := context.WithTimeout(context.Background(), 5*timeout)
					defer cancel()
					t0 := time.Now()
					ok, err := r.Allow(ctx)
					d := time.Since(t0)
					mu.Lock()
					defer mu.Unlock()
					slowest = max(slowest, d)
					results = append(results, err)
					if ok {
						allowed++
					}
				})
			}
			close(start)
			wg.Wait()
			t.Logf("slowest call %v, %d round trips failed", slowest, reported.Load())
			for _, err := range results {
				if failOpen {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, redisrate.ErrUnavailable)
				}
			}
			if failOpen {
				assert.Equal(t, callers, allowed)
			} else {
				assert.Zero(t, allowed)
			}
			// Serial round trips would take 12 timeouts, and every caller
			// after the fifth would hit its own deadline.
			assert.Less(t, slowest, 4*timeout, "a caller waited behind other round trips")
			assert.LessOrEqual(t, reported.Load(), int64(2), "callers made round trips of their own")
		})
	}
}

// TestLeaseCallerDeadlineDoesNotFailOthers checks that a refill ended by its
// caller's own context is not a Redis failure for those waiting on it: they
// make their own round trip, within their own per-call bound.
func TestLeaseCallerDeadlineDoesNotFailOthers(t *testing.T) {
	c := newClient(t, redisURL)
	r := redisrate.NewRate(c, newKey(t), 1000, 100, redisrate.Lease(10))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	ok, err := r.Allow(done)
	assert.False(t, ok)
	assert.ErrorIs(t, err, context.Canceled)
	ok, err = r.Allow(context.Background())
	assert.True(t, ok)
	assert.NoError(t, err)
}

// TestMisusePanics checks package limiter's rule for mistakes at call time:
// zero values, nil contexts and negative counts panic, naming them.
func TestMisusePanics(t *testing.T) {
	c := deadServer(t) // no call below reaches it
	var nilCtx context.Context
	ctx := context.Background()
	r := redisrate.NewRate(c, "k", 1, 1)
	k := redisrate.NewKeyed(c, "p:", 1, 1)
	for want, fn := range map[string]func(){
		"redisrate: Rate used without NewRate":        func() { _, _ = new(redisrate.Rate).Allow(ctx) },
		"redisrate: Keyed used without NewKeyed":      func() { _ = new(redisrate.Keyed).Wait(ctx, "a") },
		"redisrate: nil context":                      func() { _, _ = r.Allow(nilCtx) },
		"redisrate: Rate.AllowN(-1): n must be >= 0":  func() { _, _ = r.AllowN(ctx, -1) },
		"redisrate: Keyed.AllowN(-2): n must be >= 0": func() { _, _ = k.AllowN(ctx, "a", -2) },
		"redisrate: Keyed.WaitN(-1): n must be >= 0":  func() { _ = k.WaitN(ctx, "a", -1) },
	} {
		assert.PanicsWithValue(t, want, fn)
	}
}
