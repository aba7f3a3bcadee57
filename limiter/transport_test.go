package limiter_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// transportServer starts a server on 127.0.0.1 that counts the requests it
// gets, and a client whose connections are closed when the test ends.
func transportServer(t *testing.T) (srv *httptest.Server, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

// transportBody is a request body that records being closed.
type transportBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *transportBody) Close() error { b.closed.Store(true); return nil }

func TestTransportAgainstServer(t *testing.T) {
	srv, hits := transportServer(t)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	// One an hour after a burst of 3: the 4th request is due so late that
	// neither case below depends on how fast the machine runs the first 3.
	client := &http.Client{Transport: limiter.Transport(base, limiter.NewRate(limiter.Every(time.Hour), 3))}

	for _, path := range []string{"/a", "/b", "/c"} {
		resp, err := client.Get(srv.URL + path)
		require.NoError(t, err, "the burst passes at once")
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "ok "+path, string(body))
	}
	assert.Equal(t, int64(3), hits.Load())

	// The next request is due in an hour.
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"the deadline comes first", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 500*time.Millisecond)
		}, limiter.ErrRateExceeded},
		{"the context is cancelled while waiting", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(time.Millisecond, func() { cancel(errTransportGaveUp) })
			return ctx, func() { cancel(nil) }
		}, errTransportGaveUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			body := &transportBody{Reader: strings.NewReader("payload")}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, body)
			require.NoError(t, err)
			resp, err := client.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, body.closed.Load(), "the body is closed")
			assert.Equal(t, int64(3), hits.Load(), "the request was not sent")
		})
	}
}

var errTransportGaveUp = errors.New("gave up")

func TestTransportDefaultBase(t *testing.T) {
	srv, hits := transportServer(t)
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	client := &http.Client{Transport: limiter.Transport(nil, limiter.NewRate(limiter.Inf, 1))}
	resp, err := client.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int64(1), hits.Load())
}

func TestTransportPanicsOnNilRate(t *testing.T) {
	assert.PanicsWithValue(t, "limiter: Transport(base, nil): r must not be nil", func() {
		limiter.Transport(http.DefaultTransport, nil)
	})
}

// transportFunc adapts a function to http.RoundTripper.
type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestTransportSchedule checks, against a stub round tripper in a synctest
// bubble, that requests go out exactly at the rate.
func TestTransportSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var sent []time.Duration
		rt := limiter.Transport(transportFunc(func(*http.Request) (*http.Response, error) {
			sent = append(sent, time.Since(start))
			return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody}, nil
		}), limiter.NewRate(limiter.Every(250*time.Millisecond), 2))
		for range 4 {
			req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
			require.NoError(t, err)
			resp, err := rt.RoundTrip(req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		}
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{0, 0, 250 * ms, 500 * ms}, sent)
	})
}
