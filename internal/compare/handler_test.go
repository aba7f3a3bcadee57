package compare

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/didip/tollbooth/v7"
	tblimiter "github.com/didip/tollbooth/v7/limiter"
	"github.com/go-chi/httprate"

	"github.com/weftgo/weft/limiter"
)

// The HTTP middleware peers: go-chi/httprate's LimitByIP (a sliding-window
// counter per key under one mutex) and didip/tollbooth v7 (an x/time/rate
// limiter per key in an expirable cache). tollbooth v8 is not served by the
// module proxy this repository uses, so v7 stands in for it.

const handlerClients = 10_000

// handlerRequests are requests from 10,000 distinct IPv4 clients, built in
// advance: a benchmark measures the middleware, not request parsing.
var handlerRequests = func() []*http.Request {
	rs := make([]*http.Request, handlerClients)
	base := httptest.NewRequest("GET", "/api/items", nil)
	for i := range rs {
		r := base.Clone(base.Context())
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 40000+i%20000)
		rs[i] = r
	}
	return rs
}()

// benchWriter is the cheapest ResponseWriter: one header map, cleared
// before each request, so that a middleware's own allocations are what
// -benchmem counts.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.status = code }

var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// handlerImpl returns implementation name's middleware around next, limiting
// each client IP to burst requests at once, earned back at one a minute
// (httprate, a window counter: burst requests a minute).
func handlerImpl(name string, burst int, next http.Handler) http.Handler {
	switch name {
	case "weft":
		keyed := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(1.0/60, burst) },
			limiter.MaxKeys(2*handlerClients))
		return limiter.Handler(next, limiter.PerKey(keyed, limiter.ClientIP()))
	case "httprate":
		//lint:ignore SA1019 LimitByIP is the peer's per-IP limit that users call; it keys off RemoteAddr like ClientIP()
		return httprate.LimitByIP(burst, time.Minute)(next)
	case "tollbooth":
		lmt := tollbooth.NewLimiter(1.0/60, &tblimiter.ExpirableOptions{DefaultExpirationTTL: time.Hour}).
			SetBurst(burst).
			SetIPLookups([]string{"RemoteAddr"}) // its default reads X-Forwarded-For first, which clients can forge
		return tollbooth.LimitHandler(lmt, next)
	}
	panic("no handler implementation " + name)
}

var handlerImplNames = []string{"weft", "httprate", "tollbooth"}

// BenchmarkHandlerPerIP is the cost per request of rate-limiting by client
// IP, over 10,000 clients whose limit no request reaches, visited in a
// scattered order, from one goroutine and from GOMAXPROCS goroutines. Each
// implementation writes its own rate-limit headers: weft the RateLimit and
// RateLimit-Policy fields, httprate X-RateLimit-Limit, -Remaining and
// -Reset, tollbooth X-Rate-Limit-* and RateLimit-* fields.
func BenchmarkHandlerPerIP(b *testing.B) {
	for _, par := range []bool{false, true} {
		for _, name := range handlerImplNames {
			h := handlerImpl(name, 1<<20, noop)
			w := &benchWriter{h: http.Header{}}
			for _, r := range handlerRequests { // every client known before timing
				clear(w.h)
				h.ServeHTTP(w, r)
			}
			runtime.GC()
			sub := "single/" + name
			if par {
				sub = "parallel/" + name
			}
			b.Run(sub, func(b *testing.B) {
				b.ReportAllocs()
				if !par {
					i := 0
					for b.Loop() {
						clear(w.h)
						h.ServeHTTP(w, handlerRequests[i%handlerClients])
						i += 7919
					}
					return
				}
				var seed atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					w := &benchWriter{h: http.Header{}}
					i := int(seed.Add(1)) * 1237
					for pb.Next() {
						clear(w.h)
						h.ServeHTTP(w, handlerRequests[i%handlerClients])
						i += 7919
					}
				})
			})
		}
	}
}

// BenchmarkHandlerRejected is the cost of refusing a request: one client
// over its limit, as under a flood.
func BenchmarkHandlerRejected(b *testing.B) {
	for _, name := range handlerImplNames {
		h := handlerImpl(name, 1, noop)
		w := &benchWriter{h: http.Header{}}
		r := handlerRequests[0]
		h.ServeHTTP(w, r)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
			if w.status != http.StatusTooManyRequests {
				b.Fatalf("status %d, want 429", w.status)
			}
		})
	}
}

// TestHandlerAgree checks that every implementation serves each client its
// burst, refuses the next request with 429, and keeps clients apart.
func TestHandlerAgree(t *testing.T) {
	const burst = 3
	for _, name := range handlerImplNames {
		served := 0
		h := handlerImpl(name, burst, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
		for _, r := range handlerRequests[:100] {
			for i := range burst + 1 {
				w := &benchWriter{h: http.Header{}}
				h.ServeHTTP(w, r)
				if want := i < burst; (w.status == 0) != want {
					t.Fatalf("%s: request %d from %s: status %d", name, i, r.RemoteAddr, w.status)
				}
				if i == burst && w.status != http.StatusTooManyRequests {
					t.Fatalf("%s: status %d, want 429", name, w.status)
				}
			}
		}
		if served != 100*burst {
			t.Fatalf("%s served %d requests, want %d", name, served, 100*burst)
		}
	}
}
