// Command overload offers a CPU-bound HTTP server four times the requests it
// can serve, twice: once unprotected, once behind load shedding, and prints
// for each run how many requests were served and rejected and the latency
// of the served ones.
//
// Unprotected, every request is accepted and they all share the CPUs: the
// queue grows for as long as the overload lasts, and so does every
// request's latency, until most responses come too late to be of use. With
// shedding, an Adaptive concurrency limit (the gradient algorithm) keeps
// only as many requests running as the CPUs serve without queueing, a
// request waits at most two service times for a slot, and while the
// scheduler lag the monitor measures is high everything is refused at once
// with 503 and Retry-After: the requests that are served stay within a
// small multiple of their unloaded latency, and the rest learn at once to
// come back later.
//
// The load comes from the same process, so on a busy host the figures
// move from run to run; the contrast between the runs does not.
//
//	go run ./examples/overload
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/monitor"
)

const (
	work        = 3 * time.Millisecond   // CPU time a request takes, calibrated at start
	overdrive   = 4                      // offered load, as a multiple of capacity
	loadFor     = time.Second            // how long each run offers load
	capacityFor = 500 * time.Millisecond // how long the capacity is measured
	maxPending  = 5000                   // requests the load loop keeps in flight at most
	unloadedN   = 30                     // sequential requests measuring the unloaded latency
	timeout     = 10 * time.Second       // a client's patience
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

// result is what one run counted.
type result struct {
	offered, served, rejected, failed int
	p50, p99                          time.Duration // of the served requests
}

// report is what run measured, for the test.
type report struct {
	capacity                         float64 // requests per second the CPUs serve
	unloaded, unprotected, protected result
	limit                            int // the Adaptive limit at the end
}

func run(ctx context.Context, w io.Writer) (report, error) {
	var rep report
	n := calibrate(work)
	cpus := runtime.GOMAXPROCS(0)
	cpuBound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(strconv.AppendUint(nil, spin(n), 16))
	})

	// Unprotected.
	err := withServer(ctx, cpuBound, func(url string, c *http.Client) error {
		var err error
		if rep.unloaded, err = sequential(ctx, c, url, unloadedN); err != nil {
			return err
		}
		// The capacity: what the server serves with a few requests
		// always waiting, on the CPU this host gives the process now.
		rep.capacity = saturate(ctx, c, url, 4*cpus, capacityFor)
		if rep.capacity == 0 {
			return errors.New("no request served while measuring the capacity")
		}
		fmt.Fprintf(w, "capacity: %.0f requests/s (%v of CPU each, %d CPUs); offering %.0f/s for %v\n",
			rep.capacity, work, cpus, overdrive*rep.capacity, loadFor)
		rep.unprotected = load(ctx, c, url, overdrive*rep.capacity, loadFor)
		return nil
	})
	if err != nil {
		return rep, err
	}

	// Protected: shed while the scheduler lags, and keep the concurrency
	// where latency stays within twice the unloaded one.
	m := monitor.Start(ctx, monitor.Interval(20*time.Millisecond), monitor.OverloadAt(20*time.Millisecond))
	defer m.Stop()
	adaptive := limiter.NewAdaptive(limiter.Gradient(2), limiter.InitialLimit(cpus), limiter.MaxLimit(100*cpus))
	protected := limiter.Handler(cpuBound,
		limiter.ShedWhen(m.Overloaded),
		limiter.Concurrency(adaptive),
		limiter.MaxWait(2*work), // a request waits a couple of service times for a slot, no longer
	)
	err = withServer(ctx, protected, func(url string, c *http.Client) error {
		rep.protected = load(ctx, c, url, overdrive*rep.capacity, loadFor)
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.limit = adaptive.Limit()

	for _, r := range []struct {
		name string
		res  result
	}{{"unloaded", rep.unloaded}, {"without shedding", rep.unprotected}, {"with shedding", rep.protected}} {
		fmt.Fprintf(w, "%-17s %5d offered %5d served %5d rejected %4d failed   served p50 %8v  p99 %8v\n",
			r.name+":", r.res.offered, r.res.served, r.res.rejected, r.res.failed,
			r.res.p50.Round(100*time.Microsecond), r.res.p99.Round(100*time.Microsecond))
	}
	fmt.Fprintf(w, "adaptive limit at the end: %d\n", rep.limit)
	return rep, nil
}

// spin burns CPU: n rounds of FNV-1a.
func spin(n int) uint64 {
	h := uint64(14695981039346656037)
	for i := range n {
		h ^= uint64(i & 0xff)
		h *= 1099511628211
	}
	return h
}

// calibrate returns the n for which spin(n) takes about d, taking the
// fastest of a few tries so that a busy host does not inflate it.
func calibrate(d time.Duration) int {
	const probe = 1 << 20
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		runtime.KeepAlive(spin(probe))
		best = min(best, time.Since(start))
	}
	return max(1, int(float64(probe)*float64(d)/float64(max(best, 1))))
}

// withServer serves h on 127.0.0.1 for the duration of fn, and shuts the
// server and the client's connections down before returning.
func withServer(ctx context.Context, h http.Handler, fn func(url string, c *http.Client) error) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: timeout}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tr := &http.Transport{MaxIdleConnsPerHost: maxPending, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: timeout}
	err = fn("http://"+ln.Addr().String()+"/", c)
	tr.CloseIdleConnections()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(sctx))
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// get sends one request and returns its status (0 on a transport error) and
// latency.
func get(ctx context.Context, c *http.Client, url string) (int, time.Duration) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Since(start)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// sequential sends n requests one after the other.
func sequential(ctx context.Context, c *http.Client, url string, n int) (result, error) {
	var res result
	var lat []time.Duration
	for range n {
		code, d := get(ctx, c, url)
		if code != http.StatusOK {
			return res, fmt.Errorf("unloaded request: status %d", code)
		}
		lat = append(lat, d)
	}
	res.offered, res.served = n, n
	res.p50, res.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return res, nil
}

// load offers perSecond requests a second for d, each from its own
// goroutine whatever the earlier ones are doing (an open loop, as
// independent clients behave), at most maxPending at a time, and waits for
// them all.
func load(ctx context.Context, c *http.Client, url string, perSecond float64, d time.Duration) result {
	var (
		mu  sync.Mutex
		res result
		lat []time.Duration
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, maxPending)
	start := time.Now()
	total := int(perSecond * d.Seconds())
	for sent := 0; sent < total && ctx.Err() == nil; {
		if sent > 0 {
			time.Sleep(time.Millisecond)
		}
		// Send what is due by now, all of it even if this goroutine was
		// held up: the clients do not wait for it.
		for due := min(total, 1+int(time.Since(start).Seconds()*perSecond)); sent < due; sent++ {
			res.offered++
			select {
			case sem <- struct{}{}:
			default:
				res.failed++ // the client gave up before sending
				continue
			}
			wg.Go(func() {
				defer func() { <-sem }()
				code, d := get(ctx, c, url)
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusOK:
					res.served++
					lat = append(lat, d)
				case http.StatusServiceUnavailable, http.StatusTooManyRequests:
					res.rejected++
				default:
					res.failed++
				}
			})
		}
	}
	wg.Wait()
	res.p50, res.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return res
}

// saturate keeps clients requests in flight for d and returns the rate
// of the requests served.
func saturate(ctx context.Context, c *http.Client, url string, clients int, d time.Duration) float64 {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		served int
	)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Since(start) < d && ctx.Err() == nil {
				if code, _ := get(ctx, c, url); code == http.StatusOK {
					mu.Lock()
					served++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return float64(served) / time.Since(start).Seconds()
}

// percentile returns the q-quantile of ds (nearest rank), 0 if ds is empty.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}
