// Command resilient-client is an HTTP client for a flaky server, built by
// stacking weft's net/http adapters, outermost first:
//
//	limiter.Transport  at most 100 requests a second, bursts of 5
//	breaker.Transport  stop calling a server that keeps failing, probe it later
//	retry.Transport    retry 429, 5xx and transport errors, honouring Retry-After
//	timeout.Transport  a deadline for each try
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
	rate      = 100                    // requests a second
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
	hitsWhileOpen int64         // requests that reached the server while the breaker was open
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

	br := breaker.New(
		breaker.ConsecutiveFailures(2),
		breaker.OpenFor(openFor),
		breaker.OnStateChange(func(from, to breaker.State) {
			logf("  breaker: %v -> %v\n", from, to)
			mu.Lock()
			rep.transitions = append(rep.transitions, from.String()+" -> "+to.String())
			mu.Unlock()
		}),
	)
	policy := retry.New(
		retry.Attempts(3),
		retry.Exponential(10*time.Millisecond, 100*time.Millisecond),
		retry.OnRetry(func(e retry.Event) {
			why := "backoff"
			if e.After {
				why = "the server's Retry-After"
			}
			logf("  retry: try %d failed (%v); next try in %v (%s)\n", e.Attempt, e.Err, e.Delay.Round(time.Millisecond), why)
			mu.Lock()
			rep.retries = append(rep.retries, e)
			mu.Unlock()
		}),
	)
	var rt http.RoundTripper = ts.Client().Transport
	rt = timeout.Transport(rt, perTry)
	rt = retry.Transport(rt, policy)
	rt = breaker.Transport(rt, br)
	rt = limiter.Transport(rt, limiter.NewRate(rate, rateBurst))
	client := &http.Client{Transport: rt}

	get := func() (string, error) {
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
		status, err := get()
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

	logf("outage: the server answers 500 to everything\n")
	srv.mode.Store(down)
	var hitsAtOpen int64
	for i := range 4 {
		status, err := get()
		switch {
		case errors.Is(err, breaker.ErrOpen):
			rep.outageResults = append(rep.outageResults, "rejected")
			logf("  request %d: rejected without calling the server: %v\n", i+1, err)
		case err != nil:
			return rep, err
		default:
			rep.outageResults = append(rep.outageResults, status)
			logf("  request %d: %s after the retries\n", i+1, status)
		}
		if br.State() == breaker.Open && hitsAtOpen == 0 {
			hitsAtOpen = srv.hits.Load()
		}
	}
	rep.hitsWhileOpen = srv.hits.Load() - hitsAtOpen

	logf("recovery: the server is fixed; the breaker lets a probe through after %v\n", openFor)
	srv.mode.Store(healthy)
	for br.State() == breaker.Open {
		select {
		case <-ctx.Done():
			return rep, context.Cause(ctx)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := must("probe"); err != nil {
		return rep, err
	}
	rep.recovered = br.State() == breaker.Closed
	logf("  probe: 200 OK; breaker %v, %d calls rejected in all\n", br.State(), br.Stats().Rejected)
	return rep, nil
}
