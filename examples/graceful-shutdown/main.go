// Command graceful-shutdown runs an HTTP server and its background workers in
// one group.Group under signal.NotifyContext, and shuts them down in order
// when SIGTERM arrives:
//
//  1. the server stops accepting connections,
//  2. the requests in flight finish, within a deadline (timeout.Reserve keeps
//     part of the shutdown budget back for the steps after the drain),
//  3. the workers finish the jobs those requests queued, and exit,
//  4. group.Wait returns once every goroutine has returned, and the program
//     exits 0.
//
// To run by itself, it sends itself SIGTERM once three slow requests are in
// flight.
//
//	go run ./examples/graceful-shutdown
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weftgo/weft/group"
	"github.com/weftgo/weft/timeout"
)

const (
	clients        = 3                      // slow requests in flight when SIGTERM arrives
	work           = 200 * time.Millisecond // how long each takes
	shutdownBudget = 2 * time.Second        // from SIGTERM to exit
	keepBack       = 500 * time.Millisecond // of that, what the drain may not use
	workers        = 2
)

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "graceful-shutdown:", err)
		os.Exit(1)
	}
}

// report is what run observed, for the test.
type report struct {
	responses []string // what each client got
	refused   error    // what a request sent during the drain got
	processed int64    // jobs the workers finished
	drain     time.Duration
}

func run(parent context.Context, w io.Writer) (*report, error) {
	// Register for SIGTERM before anything can send it.
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, os.Interrupt)
	defer stop()

	rep := new(report)
	var mu sync.Mutex // serialises writes to w
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format, args...)
	}

	jobs := make(chan int, 64)         // requests queue follow-up work for the workers
	stopWorkers := make(chan struct{}) // closed once no handler runs any more
	inFlight := make(chan struct{}, clients)
	listenerClosed := make(chan struct{})
	var requests atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		n := int(requests.Add(1))
		select {
		case inFlight <- struct{}{}: // tell main a request is in flight
		default:
		}
		time.Sleep(work) // work that should not be cut short
		select {
		case jobs <- n:
		default: // never block a request on the queue
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "request %d done", n)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	srv.RegisterOnShutdown(func() { close(listenerClosed) }) // runs once the listener is closed

	g := group.New(ctx)
	var addr string
	err := g.Start(func(ctx context.Context, ready func()) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addr = ln.Addr().String()
		ready()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if err != nil {
		return rep, g.Wait()
	}
	logf("serving on %s with %d workers\n", addr, workers)

	// Shutdown: wait for the signal (or a task's failure), then drain.
	g.Go(func(ctx context.Context) error {
		defer close(stopWorkers) // no handler runs any more: let the workers finish
		<-ctx.Done()
		logf("signal: %v; shutting down within %v\n", context.Cause(ctx), shutdownBudget)
		// The group's context is done; the shutdown gets a budget of its own.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownBudget)
		defer cancel()
		drainCtx, cancelDrain := timeout.Reserve(sctx, keepBack)
		defer cancelDrain()
		start := time.Now()
		if err := srv.Shutdown(drainCtx); err != nil {
			srv.Close() // cut the stragglers off; the time kept back lets the workers finish
			return fmt.Errorf("drain: %w", err)
		}
		rep.drain = time.Since(start)
		logf("drained the requests in flight in %v\n", rep.drain.Round(10*time.Millisecond))
		return nil
	})

	var processed atomic.Int64
	for i := range workers {
		g.Go(func(ctx context.Context) error {
			do := func(n int) {
				processed.Add(1)
				logf("worker %d: follow-up job of request %d done\n", i, n)
			}
			for {
				select {
				case n := <-jobs:
					do(n)
				case <-stopWorkers:
					for { // finish what is queued, then exit
						select {
						case n := <-jobs:
							do(n)
						default:
							return nil
						}
					}
				}
			}
		})
	}

	// Clients, outside the server's group: SIGTERM is the server's business,
	// so they run under the parent context.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	cg := group.NewResults[string](parent)
	for range clients {
		cg.Go(func(ctx context.Context) (string, error) {
			return get(ctx, client, "http://"+addr+"/slow")
		})
	}

	// Once every client's request is being handled, send SIGTERM to
	// ourselves, as an orchestrator would.
	for range clients {
		select {
		case <-inFlight:
		case <-ctx.Done():
		}
	}
	logf("%d requests in flight; sending SIGTERM to ourselves\n", clients)
	if err := sendTERM(); err != nil {
		g.Cancel(err)
	}

	// While the server drains, a new connection is refused.
	select {
	case <-listenerClosed:
		late := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		_, rep.refused = get(parent, late, "http://"+addr+"/slow")
		logf("a new request during the drain: %v\n", rep.refused)
	case <-parent.Done():
	}

	err = g.Wait()
	rep.processed = processed.Load()
	var cerr error
	rep.responses, cerr = cg.Wait()
	for i, r := range rep.responses {
		logf("client %d got %q\n", i, r)
	}
	if err := errors.Join(err, cerr); err != nil {
		return rep, err
	}
	logf("every goroutine has returned; %d follow-up jobs done; exiting 0\n", rep.processed)
	return rep, nil
}

// get sends a GET and returns the body.
func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return string(body), err
}

// sendTERM sends SIGTERM to this process.
func sendTERM() error {
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}
