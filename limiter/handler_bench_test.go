package limiter_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/weftgo/weft/limiter"
)

// benchRequests are requests from n distinct IPv4 clients.
func benchRequests(n int) []*http.Request {
	rs := make([]*http.Request, n)
	for i := range rs {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 40000+i%20000)
		rs[i] = r
	}
	return rs
}

// BenchmarkHandlerPerKey is PerKey(ClientIP) over 10,000 clients that stay
// under their limit, with a ResponseWriter that costs nothing.
func BenchmarkHandlerPerKey(b *testing.B) {
	rs := benchRequests(10_000)
	keyed := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(1.0/60, 1<<20) })
	h := limiter.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		limiter.PerKey(keyed, limiter.ClientIP()))
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, rs[i%len(rs)])
		i += 7919
	}
}

// BenchmarkHandlerShed is the cost of ShedWhen and Concurrency(Bulkhead)
// on a request that passes both.
func BenchmarkHandlerShed(b *testing.B) {
	r := benchRequests(1)[0]
	h := limiter.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		limiter.ShedWhen(func() bool { return false }), limiter.Concurrency(limiter.NewBulkhead(64, 0)))
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkClientIP(b *testing.B) {
	b.Run("RemoteAddr", func(b *testing.B) {
		key := limiter.ClientIP()
		r := benchRequests(1)[0]
		b.ReportAllocs()
		for b.Loop() {
			key(r)
		}
	})
	b.Run("X-Forwarded-For", func(b *testing.B) {
		key := limiter.ClientIP(limiter.TrustedProxies(netip.MustParsePrefix("10.0.0.0/8")))
		r := benchRequests(1)[0]
		r.Header.Set("X-Forwarded-For", "198.51.100.7, [2001:db8::1]:443, 10.1.2.3")
		b.ReportAllocs()
		for b.Loop() {
			key(r)
		}
	})
}
