package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// Both concurrency limits fit Concurrency.
var (
	_ limiter.Acquirer = (*limiter.Bulkhead)(nil)
	_ limiter.Acquirer = (*limiter.Adaptive)(nil)
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })

func serve(h http.Handler, remote string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	h.ServeHTTP(rec, r)
	return rec
}

// fields returns a response's status and its rate-limit fields.
func fields(rec *httptest.ResponseRecorder) string {
	h := rec.Header()
	return fmt.Sprintf("%d RateLimit=%q RateLimit-Policy=%q Retry-After=%q",
		rec.Code, h.Values("RateLimit"), h.Values("RateLimit-Policy"), h.Values("Retry-After"))
}

func TestHandlerPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One request per 4s, bursts of 2: the bucket refills in 8s.
		keyed := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(0.25, 2) })
		h := limiter.Handler(okHandler, limiter.PerKey(keyed, limiter.ClientIP()))
		const a, b = "192.0.2.1:1000", "192.0.2.2:1000"

		// 1 left; the next is earned back 4s after the first.
		assert.Equal(t, `200 RateLimit=["\"default\";r=1;t=4"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=[]`, fields(serve(h, a)))
		time.Sleep(time.Second)
		assert.Equal(t, `200 RateLimit=["\"default\";r=0;t=3"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=[]`, fields(serve(h, a)))
		rec := serve(h, a)
		assert.Equal(t, `429 RateLimit=["\"default\";r=0;t=3"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=["3"]`, fields(rec))
		assert.Equal(t, "Too Many Requests\n", rec.Body.String())
		assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))

		// Retry-After rounds up: 2.5s is 3.
		time.Sleep(500 * time.Millisecond)
		assert.Equal(t, `429 RateLimit=["\"default\";r=0;t=3"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=["3"]`, fields(serve(h, a)))
		// Another client has its own bucket.
		assert.Equal(t, `200 RateLimit=["\"default\";r=1;t=4"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=[]`, fields(serve(h, b)))
		// At Retry-After, the request is admitted.
		time.Sleep(2500 * time.Millisecond)
		assert.Equal(t, `200 RateLimit=["\"default\";r=0;t=4"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=[]`, fields(serve(h, a)))
		// After 8s idle the bucket is full again.
		time.Sleep(8 * time.Second)
		assert.Equal(t, `200 RateLimit=["\"default\";r=1;t=4"] RateLimit-Policy=["\"default\";q=2;w=8"] Retry-After=[]`, fields(serve(h, a)))
	})
}

func TestHandlerGlobal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(10, 3)), limiter.RatePolicy("api"))
		// T = 100ms: t rounds up to 1; w = 300ms rounds up to 1.
		want := []string{
			`200 RateLimit=["\"api\";r=2;t=1"] RateLimit-Policy=["\"api\";q=3;w=1"] Retry-After=[]`,
			`200 RateLimit=["\"api\";r=1;t=1"] RateLimit-Policy=["\"api\";q=3;w=1"] Retry-After=[]`,
			`200 RateLimit=["\"api\";r=0;t=1"] RateLimit-Policy=["\"api\";q=3;w=1"] Retry-After=[]`,
			`429 RateLimit=["\"api\";r=0;t=1"] RateLimit-Policy=["\"api\";q=3;w=1"] Retry-After=["1"]`,
		}
		for i, w := range want {
			assert.Equal(t, w, fields(serve(h, fmt.Sprintf("192.0.2.%d:1", i))), "request %d", i)
		}
	})
}

func TestHandlerInfRate(t *testing.T) {
	h := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(limiter.Inf, 5)))
	assert.Equal(t, `200 RateLimit=["\"default\";r=5"] RateLimit-Policy=["\"default\";q=5"] Retry-After=[]`, fields(serve(h, "192.0.2.1:1")))
}

func TestHandlerHugeBurst(t *testing.T) {
	// A burst beyond what a structured field Integer holds (15 digits) is
	// reported as the largest one.
	h := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(1e9, 1<<60)))
	assert.Equal(t, `200 RateLimit=["\"default\";r=999999999999999;t=1"] RateLimit-Policy=["\"default\";q=999999999999999;w=1152921505"] Retry-After=[]`,
		fields(serve(h, "192.0.2.1:1")))
}

func TestHandlerNested(t *testing.T) {
	inner := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(1, 10)), limiter.RatePolicy("site"))
	h := limiter.Handler(inner, limiter.PerKey(limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(1, 5) }),
		limiter.ClientIP()), limiter.RatePolicy(`per "ip"`))
	rec := serve(h, "192.0.2.1:1")
	assert.Equal(t, []string{`"per \"ip\"";r=4;t=1`, `"site";r=9;t=1`}, rec.Header().Values("RateLimit"))
	assert.Equal(t, []string{`"per \"ip\"";q=5;w=5`, `"site";q=10;w=10`}, rec.Header().Values("RateLimit-Policy"))
}

func TestHandlerSkip(t *testing.T) {
	h := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(1, 1)),
		limiter.Skip(func(r *http.Request) bool { return r.URL.Path == "/healthz" }))
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Values("RateLimit"), "skipped: no fields")
	}
	assert.Equal(t, http.StatusOK, serve(h, "192.0.2.1:1").Code, "skipped requests used no quota")
	assert.Equal(t, http.StatusTooManyRequests, serve(h, "192.0.2.1:1").Code)
}

// fakeSlots is an Acquirer that records what Handler reports.
type fakeSlots struct {
	mu       sync.Mutex
	acquired int
	outcomes []error
	err      error // returned by Acquire
}

func (f *fakeSlots) Acquire(ctx context.Context) (func(error), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.acquired++
	return func(err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.outcomes = append(f.outcomes, err)
	}, nil
}

func TestHandlerShedWhen(t *testing.T) {
	var overloaded bool
	slots := &fakeSlots{}
	called := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called++ })
	h := limiter.Handler(next, limiter.Global(limiter.NewRate(1000, 100)),
		limiter.ShedWhen(func() bool { return overloaded }), limiter.Concurrency(slots))

	assert.Equal(t, http.StatusOK, serve(h, "192.0.2.1:1").Code)
	overloaded = true
	rec := serve(h, "192.0.2.1:1")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, `"default";r=98;t=1`, rec.Header().Get("RateLimit"), "fields on every response of the route")
	assert.Equal(t, "Service Unavailable\n", rec.Body.String())
	assert.Equal(t, 1, called)
	assert.Equal(t, 1, slots.acquired, "shed requests take no slot and are no sample")
	assert.Equal(t, []error{nil}, slots.outcomes)
}

func TestHandlerConcurrencyOutcomes(t *testing.T) {
	slots := &fakeSlots{}
	var status int
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status == -1 {
			panic("boom")
		}
		if status != 0 {
			w.WriteHeader(status)
		}
	})
	h := limiter.Handler(next, limiter.Concurrency(slots), limiter.Global(limiter.NewRate(1, 4)))

	serve(h, "192.0.2.1:1") // 200 by default
	status = http.StatusNotFound
	serve(h, "192.0.2.1:1")
	status = http.StatusBadGateway
	serve(h, "192.0.2.1:1")
	status = -1
	assert.PanicsWithValue(t, "boom", func() { serve(h, "192.0.2.1:1") }, "a panic goes on")
	status = 0
	assert.Equal(t, http.StatusTooManyRequests, serve(h, "192.0.2.1:1").Code)

	// A client gone before the handler returned: no sample.
	ctx, cancel := context.WithCancel(context.Background())
	cancelling := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cancel() }),
		limiter.Concurrency(slots))
	cancelling.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(ctx))

	// A request whose deadline passed in the handler: a failure.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	slow := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }),
		limiter.Concurrency(slots))
	slow.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(dctx))

	require.Len(t, slots.outcomes, 6)
	assert.NoError(t, slots.outcomes[0])
	assert.NoError(t, slots.outcomes[1], "a 4xx is the client's failure, not the server's")
	assert.Error(t, slots.outcomes[2], "a 5xx is a failure")
	assert.Error(t, slots.outcomes[3], "a panic is a failure")
	assert.ErrorIs(t, slots.outcomes[4], context.Canceled)
	assert.ErrorIs(t, slots.outcomes[5], context.DeadlineExceeded)
	assert.Equal(t, 6, slots.acquired, "the rate-limited request took no slot")
}

func TestHandlerBulkheadFull(t *testing.T) {
	b := limiter.NewBulkhead(1, 0)
	entered, release := make(chan struct{}), make(chan struct{})
	h := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}), limiter.Concurrency(b))
	done := make(chan int)
	go func() { done <- serve(h, "192.0.2.1:1").Code }()
	<-entered

	var got limiter.Rejection
	h2 := limiter.Handler(okHandler, limiter.Concurrency(b), limiter.OnReject(
		func(w http.ResponseWriter, r *http.Request, rej limiter.Rejection) {
			got = rej
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(rej.Status)
			fmt.Fprintf(w, `{"status":%d}`, rej.Status)
		}))
	rec := serve(h2, "192.0.2.2:1")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, `{"status":503}`, rec.Body.String())
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.ErrorIs(t, got.Err, limiter.ErrFull)
	assert.Equal(t, time.Second, got.RetryAfter)

	close(release)
	assert.Equal(t, http.StatusOK, <-done)
	assert.Equal(t, http.StatusOK, serve(h2, "192.0.2.2:1").Code, "the slot came back")
	assert.Equal(t, 0, b.Stats().Running)
}

func TestHandlerAdaptiveMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := limiter.NewAdaptive(limiter.InitialLimit(1), limiter.MaxLimit(1))
		release := make(chan struct{})
		var rejected limiter.Rejection
		h := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-release
			}
		}), limiter.Concurrency(a), limiter.MaxWait(20*time.Millisecond),
			limiter.OnReject(func(w http.ResponseWriter, r *http.Request, rej limiter.Rejection) {
				rejected = rej
				w.WriteHeader(rej.Status)
			}))
		go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		synctest.Wait()

		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/fast", nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
		assert.Equal(t, 20*time.Millisecond, time.Since(start), "waited MaxWait, no longer")
		assert.ErrorIs(t, rejected.Err, context.DeadlineExceeded)
		close(release)
		synctest.Wait()
		assert.Zero(t, a.Stats().Held)
	})
}

func TestHandlerFlush(t *testing.T) {
	h := limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
		require.NoError(t, http.NewResponseController(w).Flush())
		w.(http.Flusher).Flush()
	}), limiter.Concurrency(limiter.NewBulkhead(1, 0)))
	rec := serve(h, "192.0.2.1:1")
	assert.True(t, rec.Flushed)
}

func TestHandlerMisuse(t *testing.T) {
	assert.PanicsWithValue(t, "limiter: Handler(nil): handler must not be nil", func() { limiter.Handler(nil) })
	assert.Panics(t, func() { limiter.PerKey[string](nil, func(*http.Request) string { return "" }) })
	assert.PanicsWithValue(t, "limiter: Global(nil): Rate must not be nil", func() { limiter.Global(nil) })
	assert.PanicsWithValue(t, "limiter: Concurrency(nil): Acquirer must not be nil", func() { limiter.Concurrency(nil) })
	assert.PanicsWithValue(t, "limiter: MaxWait(0s): d must be positive", func() { limiter.MaxWait(0) })
	assert.PanicsWithValue(t, "limiter: ShedWhen(nil): function must not be nil", func() { limiter.ShedWhen(nil) })
	assert.PanicsWithValue(t, "limiter: Skip(nil): function must not be nil", func() { limiter.Skip(nil) })
	assert.PanicsWithValue(t, "limiter: OnReject(nil): function must not be nil", func() { limiter.OnReject(nil) })
	assert.PanicsWithValue(t, `limiter: RatePolicy("a\nb"): name must be 1 to 64 printable ASCII characters`, func() { limiter.RatePolicy("a\nb") })
	assert.Panics(t, func() {
		limiter.Handler(okHandler, limiter.Global(limiter.NewRate(1, 1)), limiter.Global(limiter.NewRate(1, 1)))
	})
}

// nopWriter is the cheapest ResponseWriter: a header map reused between
// requests, as net/http's server does not, so that only Handler's own
// allocations count.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestHandlerAllocs(t *testing.T) {
	keyed := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(1e6, 1e6) })
	h := limiter.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		limiter.PerKey(keyed, limiter.ClientIP()))
	w := &nopWriter{h: http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:1"
	// The RateLimit value: its string and its one-element slice.
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() { clear(w.h); h.ServeHTTP(w, r) }), 2.0)

	refused := limiter.Handler(okHandler, limiter.Global(limiter.NewRate(0.1, 1)))
	refused.ServeHTTP(w, r)
	assert.LessOrEqual(t, testing.AllocsPerRun(1000, func() { clear(w.h); refused.ServeHTTP(w, r) }), 2.0)
	assert.Equal(t, "10", w.h.Get("Retry-After"))
}

func TestHandlerErrorsAreDistinct(t *testing.T) {
	assert.False(t, errors.Is(limiter.ErrOverloaded, limiter.ErrRateExceeded))
	assert.Equal(t, "limiter: overloaded", limiter.ErrOverloaded.Error())
}

// TestHandlerOverTheWire checks the fields as a client receives them from
// a real server, twice, so that the shared values survive a response.
func TestHandlerOverTheWire(t *testing.T) {
	keyed := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(0.5, 2) })
	srv := httptest.NewServer(limiter.Handler(okHandler, limiter.PerKey(keyed, limiter.ClientIP())))
	defer srv.Close()
	var got []string
	for range 3 {
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		got = append(got, fmt.Sprintf("%d %s %s %s", resp.StatusCode, resp.Header.Get("RateLimit"),
			resp.Header.Get("RateLimit-Policy"), resp.Header.Get("Retry-After")))
	}
	assert.Equal(t, []string{
		`200 "default";r=1;t=2 "default";q=2;w=4 `,
		`200 "default";r=0;t=2 "default";q=2;w=4 `,
		`429 "default";r=0;t=2 "default";q=2;w=4 2`,
	}, got)
}
