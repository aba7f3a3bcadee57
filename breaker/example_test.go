package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/weftgo/weft/breaker"
)

func Example() {
	b := breaker.New(
		breaker.FailureRate(0.5, breaker.Window(10), breaker.MinCalls(4)),
		breaker.OpenFor(30*time.Second),
		breaker.OnStateChange(func(from, to breaker.State) { fmt.Println(from, "->", to) }),
	)
	flaky := errors.New("service unavailable")
	for i := range 6 {
		err := b.Do(context.Background(), func(ctx context.Context) error {
			if i%2 == 1 {
				return flaky
			}
			return nil
		})
		var oe *breaker.OpenError
		switch {
		case errors.As(err, &oe):
			fmt.Println(i, "rejected: no call made; next probe within", oe.RetryAfter().Round(10*time.Second))
		case err != nil:
			fmt.Println(i, "failed:", err)
		default:
			fmt.Println(i, "ok")
		}
	}
	// Output:
	// 0 ok
	// 1 failed: service unavailable
	// 2 ok
	// closed -> open
	// 3 failed: service unavailable
	// 4 rejected: no call made; next probe within 30s
	// 5 rejected: no call made; next probe within 30s
}

func ExampleGet() {
	b := breaker.New()
	n, err := breaker.Get(context.Background(), b, func(ctx context.Context) (int, error) {
		return 42, nil
	})
	fmt.Println(n, err, b.State())
	// Output: 42 <nil> closed
}

func ExampleBreaker_Allow() {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	handle := func(work func() error) error {
		done, err := b.Allow()
		if err != nil {
			return err // rejected: do not start the work
		}
		err = work()
		done(err)
		return err
	}
	fmt.Println(handle(func() error { return errors.New("timeout talking to db") }))
	err := handle(func() error { return nil })
	fmt.Println(errors.Is(err, breaker.ErrOpen))
	// Output:
	// timeout talking to db
	// true
}

func ExampleClassify() {
	errNotFound := errors.New("not found")
	b := breaker.New(
		breaker.ConsecutiveFailures(2),
		breaker.Classify(func(err error) breaker.Outcome {
			switch {
			case err == nil, errors.Is(err, errNotFound): // the service answered
				return breaker.Success
			case errors.Is(err, context.Canceled): // the caller gave up
				return breaker.Ignore
			}
			return breaker.Failure
		}),
	)
	for _, err := range []error{errNotFound, errNotFound, context.Canceled, errors.New("500")} {
		_ = b.Do(context.Background(), func(context.Context) error { return err })
	}
	st := b.Stats()
	fmt.Println(st.State, st.ConsecutiveFailures, st.Failed)
	// Output: closed 1 1
}

func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	b := breaker.New(breaker.ConsecutiveFailures(2))
	client := &http.Client{Transport: breaker.Transport(base, b)}
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println("error, open:", errors.Is(err, breaker.ErrOpen))
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// 503 Service Unavailable
	// 503 Service Unavailable
	// error, open: true
}

func ExampleBreaker_ForceOpen() {
	b := breaker.New()
	b.ForceOpen() // an operator takes the dependency out of service
	fmt.Println(b.State(), errors.Is(b.Do(context.Background(), ok), breaker.ErrOpen))
	b.Reset()
	fmt.Println(b.State(), b.Do(context.Background(), ok))
	// Output:
	// open true
	// closed <nil>
}
