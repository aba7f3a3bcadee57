package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// The rate limiter spaced the five requests beyond the burst 10ms apart.
	assert.GreaterOrEqual(t, rep.steady, 45*time.Millisecond)

	// The 429's Retry-After: 1 replaced the millisecond backoff.
	assert.GreaterOrEqual(t, rep.retryAfter, time.Second)
	var sawRetryAfter, sawTimeout bool
	for _, e := range rep.retries {
		sawRetryAfter = sawRetryAfter || (e.After && e.Delay == time.Second)
		sawTimeout = sawTimeout || errors.Is(e.Err, timeout.ErrTimeout)
	}
	assert.True(t, sawRetryAfter, "no retry waited the 1s the server asked for")
	assert.True(t, sawTimeout, "no retry after a per-try timeout")

	// The first request's two tries failed and opened the breaker, and its
	// third was refused; the next three were refused at once. Only those
	// two tries reached the server. After the open time a probe succeeded
	// and closed the breaker again.
	assert.Equal(t, []string{"open", "open", "open", "open"}, rep.outageResults)
	assert.Equal(t, int64(2), rep.outageHits)
	assert.Equal(t, []string{"closed -> open", "open -> half-open", "half-open -> closed"}, rep.transitions)
	assert.True(t, rep.recovered)
	assert.Contains(t, out.String(), "probe: 200 OK; breaker closed, 4 tries refused in all")
}

// faulty is a server that fails every other request with a 500 and records
// when each request arrived.
type faulty struct {
	mu    sync.Mutex
	times []time.Time
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.times = append(f.times, time.Now())
	n := len(f.times)
	f.mu.Unlock()
	if n%2 == 1 {
		http.Error(w, "flaky", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *faulty) hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.times)
}

// TestStackRateHoldsForRetries sends requests as fast as 8 goroutines can
// through the recommended stack, to a server that fails half the tries, and
// checks that the server never saw more than the limiter's rate allows
// (burst + rate × elapsed), retries included.
func TestStackRateHoldsForRetries(t *testing.T) {
	srv := &faulty{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	const perSecond, burst = 100, 10
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	b := breaker.New(breaker.ConsecutiveFailures(1 << 30)) // never trips here
	client := &http.Client{Transport: stack(base, p, b, limiter.NewRate(perSecond, burst), time.Minute)}

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	var requests atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
				require.NoError(t, err)
				resp, err := client.Do(req)
				if err != nil {
					continue // the context ended while waiting for the rate
				}
				resp.Body.Close()
				requests.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	hits := srv.hits()
	limit := burst + int(perSecond*elapsed.Seconds()) + 1
	assert.LessOrEqual(t, hits, limit, "the server saw %d tries in %v; the limiter allows %d", hits, elapsed, limit)
	assert.Greater(t, int64(hits), requests.Load(), "no retries were made: the test proves nothing")
}

// TestStackBreakerCountsTries checks that the breaker of the recommended
// stack sees every try: with half the tries failing, every request still
// succeeds after a retry, yet the breaker trips on the failure rate of the
// tries; then a retry that meets the open breaker gives up at once instead
// of hammering it.
func TestStackBreakerCountsTries(t *testing.T) {
	srv := &faulty{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	p := retry.New(retry.Attempts(3), retry.Constant(0))
	b := breaker.New(breaker.FailureRate(0.5, breaker.Window(10), breaker.MinCalls(10)), breaker.OpenFor(time.Hour))
	client := &http.Client{Transport: stack(base, p, b, limiter.NewRate(1e6, 100), time.Minute)}
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		return err
	}

	// Each request fails once and succeeds on its retry, so every request
	// succeeds, yet the breaker sees half the tries fail: it trips on the
	// first try of the sixth request, once its window holds 10 tries.
	requests := 0
	for b.State() == breaker.Closed {
		requests++
		err := get()
		if b.State() == breaker.Closed {
			require.NoError(t, err, "request %d", requests)
		}
	}
	assert.Equal(t, 6, requests, "the breaker saw the failed tries")
	hits, rejected := srv.hits(), b.Stats().Rejected

	err := get()
	require.ErrorIs(t, err, breaker.ErrOpen)
	require.ErrorIs(t, err, retry.ErrExhausted, "the breaker's RetryAfter outlasts the deadline")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts, "one refused try, not three")
	assert.Equal(t, rejected+1, b.Stats().Rejected)
	assert.Equal(t, hits, srv.hits(), "no try reached the server")

	// With the breaker outside the retries, the same traffic never trips
	// it: it sees only final outcomes, all successes.
	outside := breaker.New(breaker.FailureRate(0.5, breaker.Window(10), breaker.MinCalls(10)), breaker.OpenFor(time.Hour))
	client = &http.Client{Transport: breaker.Transport(retry.Transport(base, p), outside)}
	for i := range 10 {
		require.NoError(t, get(), "request %d", i)
	}
	assert.Equal(t, breaker.Closed, outside.State())
}
