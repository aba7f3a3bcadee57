// Command resilient-client is an HTTP client for a flaky server, built by
// stacking weft's net/http adapters in the recommended order, outermost
// first (the order of resilience4j and Polly):
//
//	retry.Transport    tries again on 429, 5xx and transport errors, honouring
//	                   Retry-After and an open breaker's RetryAfter
//	breaker.Transport  counts every try; once open, refuses tries at once
//	limiter.Transport  every try, retries included, waits for the rate
//	timeout.Transport  a deadline for each try
//
// Retry goes outside so that each try passes through the breaker and the
// rate limiter: a limiter outside the retries would let each request make
// several calls to the server, and a breaker outside them would see only
// final outcomes and miss a server that fails every other call.
//
// It drives a local server through a script (steady, rate limited, stalled,
// down, recovered) and prints each decision the client makes from the hooks
// the packages offer (retry.OnRetry, breaker.OnStateChange).
//
//	go run ./examples/resilient-client
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
)

const (
	perTry    = 500 * time.Millisecond // timeout.Transport's deadline for each try
	openFor   = 300 * time.Millisecond // how long the breaker stays open
	rate      = 100                    // tries a second
	rateBurst = 5
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "resilient-client:", err)
		os.Exit(1)
	}
}

// stack returns base wrapped in the recommended order: retry outermost,
// then the breaker and the rate limiter for each try, and the per-try
// deadline innermost.
func stack(base http.RoundTripper, p *retry.Policy, b *breaker.Breaker, r *limiter.Rate, perTry time.Duration) http.RoundTripper {
	rt := timeout.Transport(base, perTry) // each try has its own deadline
	rt = limiter.Transport(rt, r)         // each try waits for the rate
	rt = breaker.Transport(rt, b)         // each try is counted, or refused while open
	return retry.Transport(rt, p)         // tries again, waiting what it is asked to
}

// Modes of the flaky server: how it answers the next request.
const (
	healthy   = iota // 200
	busyOnce         // 429 with Retry-After: 1 once, then healthy
	stallOnce        // hang until the client gives up once, then healthy
	down             // 500 to every request
)

// server is the flaky server.
type server struct {
	mode atomic.Int32
	hits atomic.Int64 // requests received
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	switch s.mode.Load() {
	case busyOnce:
		s.mode.Store(healthy)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case stallOnce:
		s.mode.Store(healthy)
		<-r.Context().Done()
	case down:
		http.Error(w, "database on fire", http.StatusInternalServerError)
	default:
		fmt.Fprint(w, "hello")
	}
}

// report is what run observed, for the test.
type report struct {
	steady        time.Duration // time for the 10 steady requests
	retryAfter    time.Duration // time for the request answered 429 first
	retries       []retry.Event // every retry, in order
	transitions   []string      // breaker state changes, in order
	outageResults []string      // outcome of each request during the outage
	outageHits    int64         // tries that reached the server during the outage
	recovered     bool          // the probe after the outage succeeded
}

func run(ctx context.Context, w io.Writer) (*report, error) {
	rep := new(report)
	var mu sync.Mutex // guards rep's slices and w against hooks on other goroutines
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format, args...)
	}

	srv := new(server)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// OnStateChange runs on whichever goroutine delivers the change: the
	// breaker's timer for open -> half-open, and maybe that same goroutine,
	// still delivering, for the probe's half-open -> closed. run waits for
	// both before it returns.
	halfOpen := make(chan struct{}, 1)
	closed := make(chan struct{}, 1)
	br := breaker.New(
		breaker.ConsecutiveFailures(2),
		breaker.OpenFor(openFor),
		breaker.OnStateChange(func(from, to breaker.State) {
			logf("  breaker: %v -> %v\n", from, to)
			mu.Lock()
			rep.transitions = append(rep.transitions, from.String()+" -> "+to.String())
			mu.Unlock()
			var signal chan struct{}
			switch to {
			case breaker.HalfOpen:
				signal = halfOpen
			case breaker.Closed:
				signal = closed
			}
			select { // a nil signal: no case is ready
			case signal <- struct{}{}:
			default:
			}
		}),
	)
	br.Stats() // count successes and refusals from here (a breaker counts them once read)
	policy := retry.New(
		retry.Attempts(3),
		retry.Exponential(10*time.Millisecond, 100*time.Millisecond),
		retry.OnRetry(func(e retry.Event) {
			why := "backoff"
			if e.After {
				why = "asked for by the error"
			}
			logf("  retry: try %d failed (%v); next try in %v (%s)\n", e.Attempt, e.Err, e.Delay.Round(time.Millisecond), why)
			mu.Lock()
			rep.retries = append(rep.retries, e)
			mu.Unlock()
		}),
	)
	client := &http.Client{Transport: stack(ts.Client().Transport, policy, br, limiter.NewRate(rate, rateBurst), perTry)}
	defer client.CloseIdleConnections()

	get := func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return "", err
		}
		return resp.Status, nil
	}
	must := func(what string) error {
		status, err := get(ctx)
		if err == nil && status != "200 OK" {
			err = errors.New(status)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	logf("steady: 10 requests; the rate limiter lets %d through at once, then %d a second\n", rateBurst, rate)
	start := time.Now()
	for range 10 {
		if err := must("steady"); err != nil {
			return rep, err
		}
	}
	rep.steady = time.Since(start)
	logf("  10 x 200 OK in %v (at least %v)\n", rep.steady.Round(time.Millisecond), (10-rateBurst)*time.Second/rate)

	logf("rate limited: the server answers 429 with Retry-After: 1\n")
	srv.mode.Store(busyOnce)
	start = time.Now()
	if err := must("rate limited"); err != nil {
		return rep, err
	}
	rep.retryAfter = time.Since(start)
	logf("  200 OK after %v\n", rep.retryAfter.Round(10*time.Millisecond))

	logf("stalled: the server hangs; the per-try deadline of %v ends the try\n", perTry)
	srv.mode.Store(stallOnce)
	if err := must("stalled"); err != nil {
		return rep, err
	}
	logf("  200 OK\n")

	logf("outage: the server answers 500 to everything; each request may take 100ms\n")
	srv.mode.Store(down)
	hits := srv.hits.Load()
	for i := range 4 {
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err := get(rctx)
		cancel()
		switch {
		case errors.Is(err, breaker.ErrOpen) && errors.Is(err, retry.ErrExhausted):
			// The breaker's RetryAfter would outlast the request's
			// 100ms, so retry gave up at once instead of hammering it.
			rep.outageResults = append(rep.outageResults, "open")
			logf("  request %d: %v\n", i+1, err)
		case err != nil:
			return rep, fmt.Errorf("outage: %w", err)
		default:
			return rep, fmt.Errorf("outage: request %d succeeded", i+1)
		}
	}
	rep.outageHits = srv.hits.Load() - hits
	logf("  %d tries reached the server\n", rep.outageHits)

	logf("recovery: the server is fixed; the breaker lets a probe through after %v\n", openFor)
	srv.mode.Store(healthy)
	select {
	case <-halfOpen:
	case <-ctx.Done():
		return rep, context.Cause(ctx)
	}
	if err := must("probe"); err != nil {
		return rep, err
	}
	select {
	case <-closed:
	case <-ctx.Done():
		return rep, context.Cause(ctx)
	}
	rep.recovered = br.State() == breaker.Closed
	logf("  probe: 200 OK; breaker %v, %d tries refused in all\n", br.State(), br.Stats().Rejected)
	return rep, nil
}
