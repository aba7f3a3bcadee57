package limiter_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/weftgo/weft/limiter"
)

// Rate-limit each client IP to one request a second with bursts of two, and
// answer with the RateLimit fields and, once over the limit, 429 with
// Retry-After.
func ExampleHandler() {
	perIP := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(1, 2) },
		limiter.MaxKeys(100_000))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	h := limiter.Handler(api, limiter.PerKey(perIP, limiter.ClientIP()))

	for range 3 {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "203.0.113.7:51234"
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("RateLimit-Policy"),
			rec.Header().Values("Retry-After"))
	}
	// Output:
	// 200 "default";r=1;t=1 "default";q=2;w=2 []
	// 200 "default";r=0;t=1 "default";q=2;w=2 []
	// 429 "default";r=0;t=1 "default";q=2;w=2 [1]
}

// Bound the requests served at once with a Bulkhead, and shed everything
// while a load signal (such as monitor.Monitor.Overloaded) is set.
func ExampleConcurrency() {
	overloaded := false
	h := limiter.Handler(http.NotFoundHandler(),
		limiter.ShedWhen(func() bool { return overloaded }),
		limiter.Concurrency(limiter.NewBulkhead(64, 0)), // no queue: 503 at once when full
	)
	for _, o := range []bool{false, true} {
		overloaded = o
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Println(rec.Code, rec.Header().Values("Retry-After"))
	}
	// Output:
	// 404 []
	// 503 [1]
}
