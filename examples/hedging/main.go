// Command hedging shows timeout.Hedge cutting tail latency.
//
// It starts a local server in which one request in ten stalls (as a replica
// does during a garbage-collection pause or a cold cache), fetches 100 items
// once plainly and once hedged, and prints the p50 and p99 latency of each
// run. A hedged call sends a second request when the first has not answered
// within a short delay and takes whichever answers first; the loser is
// cancelled and waited for.
//
//	go run ./examples/hedging
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/group"
	"github.com/weftgo/weft/timeout"
)

const (
	items      = 100
	parallel   = 20                    // requests at a time
	stall      = time.Second           // how long a stalled request takes
	hedgeDelay = 20 * time.Millisecond // when the hedged call sends its second request
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hedging:", err)
		os.Exit(1)
	}
}

// report is what run measured, for the test.
type report struct {
	plain, hedged latencies
	hedges        int64 // second requests the hedged run sent
}

// latencies holds the p50 and p99 of one run.
type latencies struct{ p50, p99 time.Duration }

func run(ctx context.Context, w io.Writer) (report, error) {
	srv := httptest.NewServer(http.HandlerFunc(handle))
	defer srv.Close()
	client := srv.Client()

	// get fetches one item. The attempt number stands in for "which replica
	// answers": the server stalls one first attempt in ten, never a second
	// one, so the output is the same on every run. In production the tail is
	// random, and hedging works the same way.
	get := func(ctx context.Context, item int, attempt int64) (string, error) {
		url := srv.URL + "/item/" + strconv.Itoa(item) + "?attempt=" + strconv.FormatInt(attempt, 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("item %d: %s", item, resp.Status)
		}
		return string(body), nil
	}

	var rep report
	var err error
	var hedges atomic.Int64
	fmt.Fprintf(w, "fetching %d items, %d at a time; 1 request in 10 stalls for %v\n", items, parallel, stall)

	rep.plain, err = measure(ctx, func(ctx context.Context, item int) (string, error) {
		return get(ctx, item, 1)
	})
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(w, "plain:  p50 %-8v p99 %v\n", rep.plain.p50, rep.plain.p99)

	rep.hedged, err = measure(ctx, func(ctx context.Context, item int) (string, error) {
		var attempts atomic.Int64
		return timeout.Hedge(ctx, hedgeDelay, func(ctx context.Context) (string, error) {
			return get(ctx, item, attempts.Add(1))
		}, timeout.OnHedge(func(int) { hedges.Add(1) }))
	})
	rep.hedges = hedges.Load()
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(w, "hedged: p50 %-8v p99 %v (second request after %v, sent %d times)\n",
		rep.hedged.p50, rep.hedged.p99, hedgeDelay, rep.hedges)
	return rep, nil
}

// measure fetches every item with fetch, parallel at a time, and returns the
// latency percentiles.
func measure(ctx context.Context, fetch func(ctx context.Context, item int) (string, error)) (latencies, error) {
	ids := make([]int, items)
	for i := range ids {
		ids[i] = i
	}
	took, err := group.Map(ctx, ids, func(ctx context.Context, item int) (time.Duration, error) {
		start := time.Now()
		body, err := fetch(ctx, item)
		if err != nil {
			return 0, err
		}
		if want := "item " + strconv.Itoa(item); body != want {
			return 0, fmt.Errorf("got %q, want %q", body, want)
		}
		return time.Since(start), nil
	}, group.Limit(parallel))
	if err != nil {
		return latencies{}, err
	}
	slices.Sort(took)
	return latencies{
		p50: percentile(took, 50).Round(100 * time.Microsecond),
		p99: percentile(took, 99).Round(100 * time.Microsecond),
	}, nil
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

// handle answers /item/N with "item N" at once, except that the first attempt
// for every tenth item stalls first, giving up early if the client leaves.
func handle(w http.ResponseWriter, r *http.Request) {
	item, err := strconv.Atoi(r.URL.Path[len("/item/"):])
	if err != nil {
		http.Error(w, "bad item", http.StatusBadRequest)
		return
	}
	if item%10 == 9 && r.URL.Query().Get("attempt") == "1" {
		t := time.NewTimer(stall)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	fmt.Fprintf(w, "item %d", item)
}
