// Command parallel-fetch fetches 20 URLs from a local server on which some
// requests fail and some hang, three ways:
//
//   - group.Settle gathers every outcome, successes and failures side by side;
//   - group.Map with Limit fetches with bounded concurrency and returns the
//     results in input order;
//   - group.Map stops at the first failure and cancels the requests in flight.
//
// Every request runs under its own deadline with timeout.Do, so a hanging
// request fails with an error matching timeout.ErrTimeout, told apart from the
// caller's own deadline.
//
//	go run ./examples/parallel-fetch
package main

import (
	"context"
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
	"github.com/weftgo/weft/timeout"
)

const n = 20 // URLs to fetch

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout, 200*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "parallel-fetch:", err)
		os.Exit(1)
	}
}

// report is what run saw, for the test.
type report struct {
	ok, failed, timedOut int   // outcomes of Settle
	fetched              int   // results of the bounded Map
	maxInFlight          int64 // most requests the server saw at once during that Map
	firstErr             error // what Map returned when some items fail
}

var errStatus = errors.New("bad status")

func run(ctx context.Context, w io.Writer, perRequest time.Duration) (report, error) {
	var rep report
	var b backend
	srv := httptest.NewServer(&b)
	defer srv.Close()
	client := srv.Client()

	// fetch gets one URL under a deadline of its own.
	fetch := func(ctx context.Context, url string) (string, error) {
		return timeout.Get(ctx, perRequest, func(ctx context.Context) (string, error) {
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
				return "", fmt.Errorf("%w: %s", errStatus, resp.Status)
			}
			return string(body), nil
		})
	}

	urls := make([]string, n)
	for i := range urls {
		urls[i] = srv.URL + "/item/" + strconv.Itoa(i)
	}

	// 1. Settle: every URL is fetched and keeps its own outcome.
	fmt.Fprintf(w, "Settle: %d URLs, 8 at a time, %v per request\n", n, perRequest)
	var good []string
	for i, r := range group.Settle(ctx, urls, fetch, group.Limit(8)) {
		switch {
		case r.Err == nil:
			rep.ok++
			good = append(good, urls[i])
			fmt.Fprintf(w, "  %2d ok        %q\n", i, r.Value)
		case errors.Is(r.Err, timeout.ErrTimeout):
			rep.timedOut++
			fmt.Fprintf(w, "  %2d timed out %v\n", i, r.Err)
		default:
			rep.failed++
			fmt.Fprintf(w, "  %2d failed    %v\n", i, r.Err)
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, err // the caller gave up: the outcomes above say only that
	}
	fmt.Fprintf(w, "  %d ok, %d failed, %d timed out\n", rep.ok, rep.failed, rep.timedOut)

	// 2. Map with Limit: the URLs that worked, at most 4 requests at a time,
	// results in input order.
	for b.inFlight.Load() != 0 && ctx.Err() == nil { // let the hung handlers notice their clients left
		time.Sleep(time.Millisecond)
	}
	b.maxInFlight.Store(0)
	bodies, err := group.Map(ctx, good, fetch, group.Limit(4))
	if err != nil {
		return rep, err
	}
	rep.fetched = len(bodies)
	rep.maxInFlight = b.maxInFlight.Load()
	fmt.Fprintf(w, "Map with Limit(4): %d bodies in input order, first %q, last %q; the server saw at most %d requests at once\n",
		len(bodies), bodies[0], bodies[len(bodies)-1], rep.maxInFlight)

	// 3. Map over every URL: the first failure cancels the requests still in
	// flight, no further URL is fetched, and Map returns that failure.
	_, rep.firstErr = group.Map(ctx, urls, fetch, group.Limit(4))
	fmt.Fprintf(w, "Map over all %d URLs stops at the first failure: %v\n", n, rep.firstErr)
	return rep, ctx.Err()
}

// backend answers /item/N with "item N", except that every fifth item fails
// with 500 and items 6 and 13 hang until the client gives up. It counts the
// requests it is handling.
type backend struct {
	inFlight, maxInFlight atomic.Int64
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cur := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for m := b.maxInFlight.Load(); cur > m && !b.maxInFlight.CompareAndSwap(m, cur); m = b.maxInFlight.Load() {
	}
	i, err := strconv.Atoi(r.URL.Path[len("/item/"):])
	switch {
	case err != nil:
		http.Error(w, "no such item", http.StatusNotFound)
	case i%5 == 4:
		http.Error(w, "backend unavailable", http.StatusInternalServerError)
	case i == 6 || i == 13:
		<-r.Context().Done()
	default:
		time.Sleep(time.Millisecond) // a little work
		fmt.Fprintf(w, "item %d", i)
	}
}
