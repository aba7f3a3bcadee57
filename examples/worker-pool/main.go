// Command worker-pool shows a producer that is faster than its consumers,
// handled two ways:
//
//   - backpressure: group.MapSeq pulls jobs from the producer only while few
//     enough are waiting, so the producer slows to the consumers' pace and
//     memory stays bounded however many jobs there are;
//   - load shedding: a limiter.Bulkhead in front of a local server runs a few
//     requests, queues a few more, and rejects the rest at once with 503
//     instead of letting them pile up.
//
// Both print counts that add up whatever the timing.
//
//	go run ./examples/worker-pool
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/group"
	"github.com/weftgo/weft/limiter"
)

const (
	jobs    = 100 // jobs the producer makes
	workers = 4   // MapSeq's Limit

	burst    = 50 // requests sent to the bulkhead at once
	running  = 4  // the bulkhead's slots
	queueLen = 8  // the bulkhead's queue
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
	produced, consumed int64 // jobs through MapSeq
	maxAhead           int64 // most jobs produced but not yet consumed
	served, shed       int   // responses 200 and 503 to the burst
	stats              limiter.BulkheadStats
}

func run(ctx context.Context, w io.Writer) (report, error) {
	var rep report
	gate := make(chan struct{}) // holds the bulkhead's requests until the whole burst has arrived
	bh := limiter.NewBulkhead(running, queueLen)
	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // a job takes a while
		fmt.Fprint(w, r.URL.Query().Get("job"))
	})
	mux.HandleFunc("/burst", func(w http.ResponseWriter, r *http.Request) {
		err := bh.Do(r.Context(), func(ctx context.Context) error {
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		switch {
		case errors.Is(err, limiter.ErrFull):
			http.Error(w, "overloaded, try later", http.StatusServiceUnavailable)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()

	get := func(ctx context.Context, path string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}

	// 1. Backpressure. The producer could make every job at once; MapSeq
	// pulls the next one only while fewer than 2×workers are pulled and not
	// yet consumed, and yields results in job order.
	var produced, consumed, maxAhead atomic.Int64
	producer := iter.Seq[int](func(yield func(int) bool) {
		for job := range jobs {
			ahead := produced.Add(1) - consumed.Load()
			if ahead > maxAhead.Load() {
				maxAhead.Store(ahead) // only the producer writes it
			}
			if !yield(job) {
				return
			}
		}
	})
	work := func(ctx context.Context, job int) (string, error) {
		_, body, err := get(ctx, "/work?job="+strconv.Itoa(job))
		return body, err
	}
	for body, err := range group.MapSeq(ctx, producer, work, group.Limit(workers)) {
		if err != nil {
			return rep, err
		}
		if want := strconv.FormatInt(consumed.Load(), 10); body != want {
			return rep, fmt.Errorf("result %q out of order, want %q", body, want)
		}
		consumed.Add(1)
	}
	rep.produced, rep.consumed, rep.maxAhead = produced.Load(), consumed.Load(), maxAhead.Load()
	fmt.Fprintf(w, "backpressure: %d jobs produced, %d consumed in order by %d workers; the producer was never more than %d jobs ahead\n",
		rep.produced, rep.consumed, workers, rep.maxAhead)

	// 2. Load shedding. A burst of requests arrives at once; the bulkhead
	// runs `running`, queues `queueLen` and rejects the rest without waiting.
	// The gate holds the admitted ones until every request is accounted for,
	// so the counts do not depend on timing.
	g := group.NewResults[int](ctx)
	for range burst {
		g.Go(func(ctx context.Context) (int, error) {
			status, _, err := get(ctx, "/burst")
			return status, err
		})
	}
	for s := bh.Stats(); s.Running+s.Queued+int(s.Rejected) < burst; s = bh.Stats() {
		if ctx.Err() != nil {
			break // g.Wait reports it
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	statuses, err := g.Wait()
	if err != nil {
		return rep, err
	}
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			rep.served++
		case http.StatusServiceUnavailable:
			rep.shed++
		default:
			return rep, fmt.Errorf("unexpected status %d", s)
		}
	}
	rep.stats = bh.Stats()
	fmt.Fprintf(w, "load shedding: a burst of %d requests against a bulkhead of %d running + %d queued: %d served, %d shed at once with 503\n",
		burst, running, queueLen, rep.served, rep.shed)
	fmt.Fprintf(w, "bulkhead stats: %+v\n", rep.stats)
	return rep, nil
}
