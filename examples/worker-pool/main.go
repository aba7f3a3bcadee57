// Command worker-pool runs a local HTTP server whose handlers hand work to a
// group.Executor, a long-lived pool of workers with a bounded queue:
//
//   - load shedding: /jobs accepts a background job with TrySubmit and
//     answers 202 at once, or 429 with Retry-After when every worker is busy
//     and the queue is full, instead of letting work pile up;
//   - blocking work off the request path: /checksum runs a CPU-heavy
//     computation on the Executor with SubmitFunc and waits for the Future
//     with the request's context, so a few workers serve any number of
//     requests and a request whose deadline passes stops waiting at once.
//
// Shutdown drains the queue, and the counts add up whatever the timing.
//
//	go run ./examples/worker-pool
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/group"
)

const (
	workers  = 4  // the Executor's Limit
	queueLen = 8  // its Queue
	burst    = 50 // job requests sent at once

	checksums = 20   // /checksum requests sent at once
	rounds    = 2000 // SHA-256 rounds per checksum
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker-pool:", err)
		os.Exit(1)
	}
}

// report is what run counted, for the test.
type report struct {
	accepted, shed int // responses 202 and 429 to the burst
	ran            int64
	checksums      int // /checksum answered 200
	stats          group.ExecutorStats
}

func run(ctx context.Context, w io.Writer) (report, error) {
	var rep report
	ex := group.NewExecutor(ctx, group.Limit(workers), group.Queue(queueLen))
	gate := make(chan struct{}) // holds the jobs until the whole burst is answered
	var ran atomic.Int64

	mux := http.NewServeMux()
	mux.HandleFunc("/jobs", func(w http.ResponseWriter, r *http.Request) {
		job := r.URL.Query().Get("id")
		err := ex.TrySubmit(func(ctx context.Context) error {
			// The job outlives the request that submitted it: its context
			// comes from the Executor.
			select {
			case <-gate:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			ran.Add(1)
			_ = job // process the job
			return nil
		})
		switch {
		case errors.Is(err, group.ErrFull):
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy, try later", http.StatusTooManyRequests)
		case errors.Is(err, group.ErrClosed):
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	mux.HandleFunc("/checksum", func(w http.ResponseWriter, r *http.Request) {
		data := r.URL.Query().Get("data")
		f, err := group.SubmitFunc(r.Context(), ex, func(ctx context.Context) ([32]byte, error) {
			sum := sha256.Sum256([]byte(data))
			for range rounds {
				sum = sha256.Sum256(sum[:])
			}
			return sum, nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		sum, err := f.Wait(r.Context()) // the request's deadline bounds the wait
		if err != nil {
			f.Cancel() // nobody wants it any more
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%x", sum[:4])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()

	get := func(ctx context.Context, path string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}

	// 1. Load shedding. A burst of job requests arrives at once: the
	// Executor starts `workers` jobs, queues `queueLen`, and the handlers
	// refuse the rest at once. The gate holds the jobs until every request
	// is answered, so the counts do not depend on timing.
	statuses, err := group.Map(ctx, make([]struct{}, burst), func(ctx context.Context, _ struct{}) (int, error) {
		return get(ctx, "/jobs")
	}, group.Limit(burst))
	if err != nil {
		return rep, err
	}
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			rep.accepted++
		case http.StatusTooManyRequests:
			rep.shed++
		default:
			return rep, fmt.Errorf("unexpected status %d", s)
		}
	}
	fmt.Fprintf(w, "load shedding: a burst of %d job requests against %d workers + a queue of %d: %d accepted (202), %d shed at once (429)\n",
		burst, workers, queueLen, rep.accepted, rep.shed)
	close(gate)

	// 2. Blocking work. Many requests at once, each waiting for a CPU-heavy
	// checksum computed on the Executor's few workers.
	codes, err := group.Map(ctx, make([]struct{}, checksums), func(ctx context.Context, _ struct{}) (int, error) {
		return get(ctx, "/checksum?data="+strconv.Itoa(checksums))
	}, group.Limit(checksums))
	if err != nil {
		return rep, err
	}
	for _, c := range codes {
		if c == http.StatusOK {
			rep.checksums++
		}
	}
	fmt.Fprintf(w, "blocking work: %d checksum requests served by %d workers: %d answered 200\n",
		checksums, workers, rep.checksums)

	// 3. Shutdown: stop accepting, run what is queued, wait for every job.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ex.Shutdown(sctx); err != nil {
		return rep, err
	}
	rep.ran = ran.Load()
	rep.stats = ex.Stats()
	fmt.Fprintf(w, "shutdown: %d accepted jobs ran, none lost; stats: %d submitted, %d completed, %d rejected, %d workers left\n",
		rep.ran, rep.stats.Submitted, rep.stats.Completed, rep.stats.Rejected, rep.stats.Workers)
	return rep, nil
}
