package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/retry"
)

func ExamplePolicy_Do() {
	p := retry.New(
		retry.Attempts(5),
		retry.Exponential(time.Millisecond, 10*time.Millisecond),
		retry.OnRetry(func(e retry.Event) { fmt.Printf("try %d failed: %v\n", e.Attempt, e.Err) }),
	)
	tries := 0
	err := p.Do(context.Background(), func(ctx context.Context) error {
		if tries++; tries < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	fmt.Println("err:", err, "after", tries, "tries")
	// Output:
	// try 1 failed: connection refused
	// try 2 failed: connection refused
	// err: <nil> after 3 tries
}

func ExampleGet() {
	p := retry.New(retry.Constant(time.Millisecond))
	tries := 0
	v, err := retry.Get(context.Background(), p, func(ctx context.Context) (string, error) {
		if tries++; tries < 2 {
			return "", errors.New("busy")
		}
		return "hello", nil
	})
	fmt.Println(v, err)
	// Output: hello <nil>
}

func ExamplePermanent() {
	errNotFound := errors.New("not found")
	tries := 0
	err := retry.New().Do(context.Background(), func(ctx context.Context) error {
		tries++
		return retry.Permanent(errNotFound) // retrying will not help
	})
	fmt.Println(err, tries, errors.Is(err, errNotFound))
	// Output: not found 1 true
}

func ExampleAfter() {
	// The server asked for 30s, but only 1s is left before the deadline:
	// Do returns the last error at once instead of sleeping into it.
	// (Had it slept, the error would be the context's instead.)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tries := 0
	err := retry.New().Do(ctx, func(ctx context.Context) error {
		tries++
		return retry.After(30*time.Second, errors.New("429 Too Many Requests"))
	})
	fmt.Println(errors.Is(err, retry.ErrExhausted), errors.Is(err, context.DeadlineExceeded), tries)
	fmt.Println(err)
	// Output:
	// true false 1
	// retry: 1 attempt failed, last: 429 Too Many Requests
}

// busyError is a refusal that says how long to wait, as a circuit
// breaker's or a rate limiter's does.
type busyError struct{ wait time.Duration }

func (e busyError) Error() string             { return "busy" }
func (e busyError) RetryAfter() time.Duration { return e.wait }

func ExampleAfter_retryAfterMethod() {
	// An error with a RetryAfter method asks for its delay as After does,
	// so a retry waits for an open breaker's next probe instead of
	// hammering it.
	p := retry.New(retry.Constant(time.Millisecond), retry.OnRetry(func(e retry.Event) {
		fmt.Println("try", e.Attempt, "failed:", e.Err, "- next in", e.Delay, "asked:", e.After)
	}))
	tries := 0
	err := p.Do(context.Background(), func(context.Context) error {
		if tries++; tries == 1 {
			return busyError{wait: 2 * time.Millisecond}
		}
		return nil
	})
	fmt.Println(err, tries)
	// Output:
	// try 1 failed: busy - next in 2ms asked: true
	// <nil> 2
}

func ExamplePolicy_Delays() {
	p := retry.New(retry.Attempts(6), retry.Exponential(100*time.Millisecond, time.Second), retry.NoJitter())
	fmt.Println(slices.Collect(p.Delays()))

	// A seeded source makes a jittered schedule reproducible.
	a := retry.New(retry.Rand(rand.NewPCG(1, 2)))
	b := retry.New(retry.Rand(rand.NewPCG(1, 2)))
	fmt.Println(slices.Equal(slices.Collect(a.Delays()), slices.Collect(b.Delays())))
	// Output:
	// [100ms 200ms 400ms 800ms 1s]
	// true
}

func ExampleNewBudget() {
	// Retries may add at most 10% to the load. (A real budget would also
	// allow a few retries per second whatever the load: NewBudget(0.1, 10).)
	b := retry.NewBudget(0.1, 0)
	p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(b))
	var tries atomic.Int64
	failing := func(ctx context.Context) error { tries.Add(1); return errors.New("down") }
	refused := 0
	for range 100 {
		if err := p.Do(context.Background(), failing); errors.Is(err, retry.ErrBudgetExhausted) {
			refused++
		}
	}
	fmt.Println("tries:", tries.Load(), "refused:", refused)
	// Output: tries: 110 refused: 90
}

func ExampleTransport() {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()

	client := &http.Client{Transport: retry.Transport(srv.Client().Transport, retry.New())}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", hits.Load(), "requests")
	// Output: 200 ok after 2 requests
}
