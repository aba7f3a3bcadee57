// Command metrics shows weft's primitives exported as OpenTelemetry metrics
// through the Prometheus exporter: a server sheds load with a Bulkhead, a
// client calls it through a retry Policy and a Breaker, and the program
// scrapes its own /metrics endpoint on 127.0.0.1 once and prints the weft
// series.
//
//	go run ./examples/metrics   (from the weftotel module)
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/weftotel"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

// run starts the servers, plays the scenario, scrapes /metrics and prints
// the weft series to out. Every server it starts has stopped when it
// returns.
func run(ctx context.Context, out io.Writer) error {
	// The exporter is a Prometheus collector on a registry of our own.
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	meter := mp.Meter("github.com/weftgo/weft/weftotel/examples/metrics")

	// The server: at most two requests at once, none queued, the rest shed
	// with 503.
	bh := limiter.NewBulkhead(2, 0)
	release := make(chan struct{})
	api, err := serve(shedding(bh, release))
	if err != nil {
		return err
	}
	defer api.close()

	// The client: two tries per call, through a breaker that opens after
	// three failures in a row.
	b := breaker.New(breaker.ConsecutiveFailures(3), breaker.OpenFor(time.Minute))
	p := retry.New(retry.Attempts(2), retry.Constant(time.Millisecond))

	// The metrics endpoint, and one registration per primitive.
	metrics, err := serve(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if err != nil {
		return err
	}
	defer metrics.close()
	var regs []metric.Registration
	defer func() {
		for _, r := range regs {
			_ = r.Unregister()
		}
	}()
	for _, f := range []func() (metric.Registration, error){
		func() (metric.Registration, error) { return weftotel.Bulkhead(meter, "api", bh) },
		func() (metric.Registration, error) { return weftotel.Breaker(meter, "api-client", b) },
		func() (metric.Registration, error) { return weftotel.Policy(meter, "api-client", p) },
	} {
		r, err := f()
		if err != nil {
			return err
		}
		regs = append(regs, r)
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(ctx context.Context, path string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", api.url+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// 1. Two slow requests fill the server; three more are shed.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _, _ = get(ctx, "/hold") })
	}
	for bh.Stats().Running < 2 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		time.Sleep(time.Millisecond)
	}
	for range 3 {
		if code, err := get(ctx, "/"); err != nil || code != http.StatusServiceUnavailable {
			return fmt.Errorf("a request to a full server: %d, %v; want 503", code, err)
		}
	}
	close(release)
	wg.Wait()

	// 2. Three calls to a failing endpoint: the first call's two tries fail,
	// the next failure opens the breaker, and the tries after it are
	// rejected without reaching the server.
	errFailed := errors.New("server error")
	for range 3 {
		err := p.Do(ctx, func(ctx context.Context) error {
			return b.Do(ctx, func(ctx context.Context) error {
				code, err := get(ctx, "/fail")
				if err == nil && code >= 500 {
					err = fmt.Errorf("%w: %d", errFailed, code)
				}
				return err
			})
		})
		if err == nil {
			return errors.New("a call to /fail succeeded")
		}
	}

	// 3. Scrape once and print the weft series.
	code, body, err := scrape(ctx, client, metrics.url+"/metrics")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET /metrics: %d", code)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "weft_") {
			lines = append(lines, sc.Text())
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return nil
}

// shedding is the server's handler: /hold waits for release, /fail answers
// 500, anything else 200; when the bulkhead is full it answers 503.
func shedding(bh *limiter.Bulkhead, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := bh.Do(r.Context(), func(ctx context.Context) error {
			switch r.URL.Path {
			case "/hold":
				select {
				case <-release:
				case <-ctx.Done():
				}
			case "/fail":
				w.WriteHeader(http.StatusInternalServerError)
			}
			return nil
		})
		if errors.Is(err, limiter.ErrFull) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
}

// server is an HTTP server on 127.0.0.1.
type server struct {
	url   string
	srv   *http.Server
	ended chan error
}

// serve starts h on a free port of 127.0.0.1.
func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, ended: make(chan error, 1)}
	go func() { s.ended <- s.srv.Serve(ln) }()
	return s, nil
}

// close stops the server and waits for its goroutine.
func (s *server) close() {
	_ = s.srv.Shutdown(context.Background())
	<-s.ended
}

// scrape GETs url in the Prometheus text format.
func scrape(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
