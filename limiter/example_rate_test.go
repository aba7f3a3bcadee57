package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/weftgo/weft/limiter"
)

func ExampleNewRate() {
	// One event per hour on average, up to 3 at once: the bucket starts full.
	r := limiter.NewRate(limiter.Every(time.Hour), 3)
	for range 4 {
		fmt.Println(r.Allow())
	}
	// Output:
	// true
	// true
	// true
	// false
}

func ExampleRate_Wait() {
	r := limiter.NewRate(limiter.Every(time.Hour), 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	fmt.Println(r.Wait(ctx)) // the bucket is full: no wait
	// The next event is due in an hour, past the deadline: fail at once.
	err := r.Wait(ctx)
	fmt.Println(errors.Is(err, limiter.ErrRateExceeded))
	// Output:
	// <nil>
	// true
}

func ExampleEvery() {
	fmt.Println(limiter.Every(100 * time.Millisecond)) // events per second
	fmt.Println(limiter.Every(0) == limiter.Inf)
	// Output:
	// 10
	// true
}

func ExampleNewKeyed() {
	// Two requests per minute per user, held for at most 10,000 users.
	perUser := limiter.NewKeyed(func(user string) *limiter.Rate {
		return limiter.NewRate(limiter.Every(30*time.Second), 2)
	}, limiter.MaxKeys(10_000))
	for _, user := range []string{"ann", "ann", "bob", "ann"} {
		fmt.Println(user, perUser.Allow(user))
	}
	// Output:
	// ann true
	// ann true
	// bob true
	// ann false
}

func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	// At most 100 requests per second to this service, 10 at once.
	client := &http.Client{Transport: limiter.Transport(base, limiter.NewRate(100, 10))}
	resp, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello
}
