package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/timeout"
)

func ExampleDo() {
	err := timeout.Do(context.Background(), 10*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done() // work that outlives its deadline
		fmt.Println("inside:", context.Cause(ctx))
		return ctx.Err()
	})
	var te *timeout.Error
	if errors.As(err, &te) {
		fmt.Println("our deadline of", te.Duration, "passed:", errors.Is(err, timeout.ErrTimeout))
	}

	// The caller's own cancellation is returned as it is.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = timeout.Do(ctx, time.Second, func(ctx context.Context) error { return ctx.Err() })
	fmt.Println(err, errors.Is(err, timeout.ErrTimeout))
	// Output:
	// inside: timeout: deadline exceeded
	// our deadline of 10ms passed: true
	// context canceled false
}

func ExampleGet() {
	v, err := timeout.Get(context.Background(), time.Second, func(ctx context.Context) (string, error) {
		return "fast answer", nil
	})
	fmt.Println(v, err)
	// Output: fast answer <nil>
}

func ExampleReserve() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()

	// Keep 5 seconds back to answer the caller after the work gives up.
	work, cancelWork := timeout.Reserve(ctx, 5*time.Second)
	defer cancelWork()

	left, _ := timeout.Remaining(ctx)
	workLeft, _ := timeout.Remaining(work)
	fmt.Println((left - workLeft).Round(time.Second))
	// Output: 5s
}

func ExampleHedge() {
	var calls atomic.Int32
	v, err := timeout.Hedge(context.Background(), 20*time.Millisecond, func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			// The first attempt is stuck in the slow tail: it answers only
			// once Hedge cancels it, after the hedge has answered.
			<-ctx.Done()
			fmt.Println("first attempt cancelled:", context.Cause(ctx))
			return "", ctx.Err()
		}
		return "answer from the hedge", nil
	}, timeout.OnHedge(func(n int) { fmt.Println("hedge", n, "started") }))
	fmt.Println(v, err)
	// Output:
	// hedge 1 started
	// first attempt cancelled: timeout: Hedge: another attempt succeeded
	// answer from the hedge <nil>
}

func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	client := &http.Client{Transport: timeout.Transport(base, 5*time.Second)}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close() // also releases the deadline's timer
	body, err := io.ReadAll(resp.Body)
	fmt.Println(string(body), err)
	// Output: hello <nil>
}
