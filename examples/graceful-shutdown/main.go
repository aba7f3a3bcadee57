// Command graceful-shutdown runs an HTTP server whose handlers accept
// background jobs into a group.Executor, and shuts both down in order when
// SIGTERM arrives:
//
//  1. the server stops accepting connections and finishes the requests in
//     flight,
//  2. the Executor stops accepting jobs, runs every job it has queued, and
//     waits for them, within a deadline,
//  3. the program prints that no accepted job was lost, and exits 0.
//
// To run by itself, it sends itself SIGTERM once its client has had a
// batch of jobs accepted.
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
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weftgo/weft/group"
)

const (
	workers        = 2
	queueLen       = 16
	jobs           = 10                    // jobs the client submits before SIGTERM
	work           = 50 * time.Millisecond // how long each job takes
	shutdownBudget = 5 * time.Second       // from SIGTERM to exit
)

func main() {
	if _, err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "graceful-shutdown:", err)
		os.Exit(1)
	}
}

// report is what run observed, for the test.
type report struct {
	accepted  int   // jobs the server answered 202
	done      int64 // jobs that ran to the end
	refused   error // what a job offered after Shutdown got
	stats     group.ExecutorStats
	shutdown  time.Duration // SIGTERM to drained
	lateHTTP  error         // a request sent once the listener was closed
	doneOrder []int         // job ids in the order they finished
}

func run(parent context.Context, w io.Writer) (*report, error) {
	// Register for SIGTERM before anything can send it.
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, os.Interrupt)
	defer stop()

	rep := new(report)
	var mu sync.Mutex // serialises writes to w and rep.doneOrder
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format, args...)
	}

	// The Executor's context is the process's, not SIGTERM's: the jobs it
	// accepted must finish after the signal, during the drain.
	ex := group.NewExecutor(parent, group.Limit(workers), group.Queue(queueLen))
	var done atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/job", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		err := ex.TrySubmit(func(ctx context.Context) error {
			select {
			case <-time.After(work):
			case <-ctx.Done(): // only if the drain's deadline passes
				return context.Cause(ctx)
			}
			done.Add(1)
			mu.Lock()
			rep.doneOrder = append(rep.doneOrder, id)
			mu.Unlock()
			return nil
		})
		switch {
		case errors.Is(err, group.ErrFull):
			http.Error(w, "busy", http.StatusTooManyRequests)
		case errors.Is(err, group.ErrClosed):
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return rep, err
	}
	addr := ln.Addr().String()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logf("serving on %s: %d workers, a queue of %d\n", addr, workers, queueLen)

	// The client: a batch of jobs, each accepted at once with 202.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := range jobs {
		code, err := get(parent, client, "http://"+addr+"/job?id="+strconv.Itoa(i))
		if err != nil {
			return rep, err
		}
		if code == http.StatusAccepted {
			rep.accepted++
		}
	}
	logf("%d jobs accepted, %d running and %d queued; sending SIGTERM to ourselves\n",
		rep.accepted, ex.Stats().Running, ex.Stats().Queued)
	if err := sendTERM(); err != nil {
		return rep, err
	}

	<-ctx.Done()
	start := time.Now()
	logf("received SIGTERM: shutting down within %v\n", shutdownBudget)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownBudget)
	defer cancel()

	// 1. The server: no new connection; requests in flight finish.
	if err := srv.Shutdown(sctx); err != nil {
		return rep, fmt.Errorf("server shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return rep, err
	}
	late := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, rep.lateHTTP = get(parent, late, "http://"+addr+"/job?id=99")
	logf("the listener is closed: a new request gets %v\n", rep.lateHTTP)

	// 2. The Executor: stop accepting, drain the queue, wait for the jobs.
	logf("draining %d queued jobs\n", ex.Stats().Queued)
	if err := ex.Shutdown(sctx); err != nil {
		return rep, fmt.Errorf("executor shutdown: %w", err)
	}
	rep.shutdown = time.Since(start)
	rep.refused = ex.TrySubmit(func(context.Context) error { return nil })
	logf("a job offered after Shutdown: %v\n", rep.refused)

	// 3. The books balance.
	rep.done = done.Load()
	rep.stats = ex.Stats()
	lost := int64(rep.accepted) - rep.done
	logf("drained in %v: %d jobs accepted, %d done, %d lost; exiting 0\n",
		rep.shutdown.Round(10*time.Millisecond), rep.accepted, rep.done, lost)
	if lost != 0 {
		return rep, fmt.Errorf("%d accepted jobs lost", lost)
	}
	return rep, nil
}

// get sends a GET and returns the status code.
func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// sendTERM sends SIGTERM to this process.
func sendTERM() error {
	p, err := os.FindProcess(os.Getpid())
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}
