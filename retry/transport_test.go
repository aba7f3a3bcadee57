package retry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/retry"
)

// flaky is a test server that answers the first fail requests with status
// (hijacking and closing the connection instead when status is 0) and the
// rest with 200 "ok". It records the bodies it received.
type flaky struct {
	*httptest.Server
	fail   int
	status int
	mu     sync.Mutex
	bodies []string
}

func newFlaky(t *testing.T, fail, status int) *flaky {
	f := &flaky{fail: fail, status: status}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(body))
		n := len(f.bodies)
		f.mu.Unlock()
		switch {
		case n > f.fail:
			_, _ = io.WriteString(w, "ok")
		case f.status == 0:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		default:
			w.WriteHeader(f.status)
			_, _ = io.WriteString(w, strings.Repeat("x", 4096))
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flaky) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

func (f *flaky) client(p *retry.Policy, opts ...retry.TransportOption) *http.Client {
	return &http.Client{Transport: retry.Transport(f.Client().Transport, p, opts...)}
}

func read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestTransport(t *testing.T) {
	p := retry.New(retry.Attempts(4), retry.Constant(0))
	// opaque is a body reader http.NewRequest cannot rewind.
	type opaque struct{ io.Reader }
	tests := []struct {
		name     string
		method   string
		body     func() io.Reader
		header   string // an Idempotency-Key, if set
		opts     []retry.TransportOption
		fail     int
		status   int
		requests int
		code     int
	}{
		{"GET 503 then ok", http.MethodGet, nil, "", nil, 2, 503, 3, 200},
		{"GET 500 exhausted", http.MethodGet, nil, "", nil, 10, 500, 4, 500},
		{"GET 429", http.MethodGet, nil, "", nil, 1, 429, 2, 200},
		{"GET 404 not retried", http.MethodGet, nil, "", nil, 10, 404, 1, 404},
		{"GET transport error", http.MethodGet, nil, "", nil, 2, 0, 3, 200},
		{"HEAD", http.MethodHead, nil, "", nil, 1, 502, 2, 200},
		{"DELETE", http.MethodDelete, nil, "", nil, 1, 502, 2, 200},
		{"PUT rewinds body", http.MethodPut, func() io.Reader { return strings.NewReader("payload") }, "", nil, 2, 503, 3, 200},
		{"PUT opaque body sent once", http.MethodPut, func() io.Reader { return opaque{strings.NewReader("payload")} }, "", nil, 2, 503, 1, 503},
		{"POST sent once", http.MethodPost, func() io.Reader { return strings.NewReader("payload") }, "", nil, 2, 503, 1, 503},
		{"POST with Idempotency-Key", http.MethodPost, func() io.Reader { return bytes.NewReader([]byte("payload")) }, "k1", nil, 2, 503, 3, 200},
		{"POST made idempotent", http.MethodPost, func() io.Reader { return bytes.NewBufferString("payload") }, "",
			[]retry.TransportOption{retry.Idempotent(func(*http.Request) bool { return true })}, 2, 503, 3, 200},
		{"GET made non-idempotent", http.MethodGet, nil, "",
			[]retry.TransportOption{retry.Idempotent(func(*http.Request) bool { return false })}, 2, 503, 1, 503},
		{"RetryResponse", http.MethodGet, nil, "",
			[]retry.TransportOption{retry.RetryResponse(func(r *http.Response) bool { return r.StatusCode == 404 })}, 2, 404, 3, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFlaky(t, tt.fail, tt.status)
			var body io.Reader
			want := ""
			if tt.body != nil {
				body, want = tt.body(), "payload"
			}
			req, err := http.NewRequest(tt.method, srv.URL, body)
			require.NoError(t, err)
			if tt.header != "" {
				req.Header.Set("Idempotency-Key", tt.header)
			}
			resp, err := srv.client(p, tt.opts...).Do(req)
			require.NoError(t, err)
			assert.Equal(t, tt.code, resp.StatusCode)
			got := read(t, resp)
			if tt.code == 200 && tt.method != http.MethodHead {
				assert.Equal(t, "ok", got)
			}
			if tt.code >= 500 {
				assert.Len(t, got, 4096, "the last response is returned unread")
			}
			reqs := srv.requests()
			assert.Len(t, reqs, tt.requests)
			for _, b := range reqs {
				assert.Equal(t, want, b, "every try sends the whole body")
			}
		})
	}
}

func TestTransportExhaustedError(t *testing.T) {
	srv := newFlaky(t, 10, 0) // every try fails in transport
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	_, err := srv.client(p).Get(srv.URL)
	require.ErrorIs(t, err, retry.ErrExhausted)
	assert.Len(t, srv.requests(), 3)
}

// rtFunc is a fake RoundTripper for tests that need fake time.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// trackedBody records whether it was closed, and whether it had been read to
// the end by then (so that net/http could reuse the connection).
type trackedBody struct {
	*strings.Reader
	closed, drained bool
}

func (b *trackedBody) Close() error { b.closed, b.drained = true, b.Len() == 0; return nil }

// scripted answers with the given statuses and Retry-After values in turn,
// then 200, recording when each request came and every body it gave out.
func scripted(statuses []int, after []string) (http.RoundTripper, *[]time.Time, *[]*trackedBody) {
	var at []time.Time
	var bodies []*trackedBody
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		n := len(at)
		at = append(at, time.Now())
		code, h := 200, http.Header{}
		if n < len(statuses) {
			code = statuses[n]
			if after[n] != "" {
				h.Set("Retry-After", after[n])
			}
		}
		b := &trackedBody{Reader: strings.NewReader("body")}
		bodies = append(bodies, b)
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: h, Body: b, Request: r}, nil
	}), &at, &bodies
}

func TestTransportRetryAfter(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		status   int
		after    func(now time.Time) string
		timeout  time.Duration
		requests int
		elapsed  time.Duration
		code     int
	}{
		{"seconds 503", 503, func(time.Time) string { return "3" }, 0, 2, 3 * s, 200},
		{"seconds 429", 429, func(time.Time) string { return "7" }, 0, 2, 7 * s, 200},
		{"HTTP date", 503, func(now time.Time) string { return now.Add(5 * s).UTC().Format(http.TimeFormat) }, 0, 2, 5 * s, 200},
		{"date in the past", 503, func(now time.Time) string { return now.Add(-5 * s).UTC().Format(http.TimeFormat) }, 0, 2, 0, 200},
		{"garbage uses backoff", 503, func(time.Time) string { return "soon" }, 0, 2, s, 200},
		{"ignored on 500", 500, func(time.Time) string { return "3" }, 0, 2, s, 200},
		{"past deadline returns the response", 503, func(time.Time) string { return "30" }, 10 * s, 1, 0, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				base, at, bodies := scripted([]int{tt.status}, []string{tt.after(time.Now())})
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/", nil)
				require.NoError(t, err)
				start := time.Now()
				resp, err := retry.Transport(base, retry.New(retry.Constant(s))).RoundTrip(req)
				require.NoError(t, err)
				assert.Equal(t, tt.code, resp.StatusCode)
				assert.Len(t, *at, tt.requests)
				assert.Equal(t, tt.elapsed, time.Since(start))
				for i, b := range *bodies {
					discarded := i < len(*bodies)-1
					assert.Equal(t, discarded, b.closed, "body %d closed", i)
					assert.Equal(t, discarded, b.drained, "body %d drained", i)
				}
			})
		})
	}
}

func TestTransportCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base, at, bodies := scripted([]int{503, 503}, []string{"", ""})
		errStop := errors.New("stop")
		ctx, cancel := context.WithCancelCause(t.Context())
		time.AfterFunc(1500*time.Millisecond, func() { cancel(errStop) })
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1/", nil)
		require.NoError(t, err)
		resp, err := retry.Transport(base, retry.New(retry.Constant(time.Second))).RoundTrip(req)
		assert.Nil(t, resp)
		require.ErrorIs(t, err, errStop)
		assert.Len(t, *at, 2)
		for _, b := range *bodies {
			assert.True(t, b.closed, "the discarded response is closed")
			assert.True(t, b.drained, "the discarded response is drained")
		}
	})
}

func TestTransportGetBodyError(t *testing.T) {
	base, at, _ := scripted([]int{503}, []string{""})
	req, err := http.NewRequest(http.MethodPut, "http://127.0.0.1/", strings.NewReader("x"))
	require.NoError(t, err)
	errBody := errors.New("no body")
	req.GetBody = func() (io.ReadCloser, error) { return nil, errBody }
	resp, err := retry.Transport(base, retry.New(retry.Constant(0))).RoundTrip(req)
	assert.Nil(t, resp)
	assert.Same(t, errBody, err)
	assert.Len(t, *at, 1)
}
