package timeout_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/timeout"
)

// fakeTransport answers every request at once with a body that yields
// "hello" and then blocks until the request's context is done, as a slow
// server's body read through net/http does.
type fakeTransport struct {
	ctx context.Context // the last request's context
}

func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.ctx = req.Context()
	if req.URL.Path == "/slow-headers" {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: 200, Body: &ctxBody{ctx: req.Context(), data: "hello"}, Request: req}, nil
}

type ctxBody struct {
	ctx    context.Context
	data   string
	closed bool
}

func (b *ctxBody) Read(p []byte) (int, error) {
	if b.data != "" {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func (b *ctxBody) Close() error { b.closed = true; return nil }

// TestTransportDeadline checks, with a fake base transport, that the
// deadline covers the body read, that closing the body releases it, and that
// the request's own deadline is told apart.
func TestTransportDeadline(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		reqTimeout  time.Duration // the request context's own timeout, when positive
		wantAt      time.Duration
		wantTimeout bool
	}{
		{"deadline while reading the body", "/", 0, time.Second, true},
		{"deadline before the headers", "/slow-headers", 0, time.Second, true},
		{"request's own deadline first", "/", 500 * time.Millisecond, 500 * time.Millisecond, false},
		{"request's own deadline first, before the headers", "/slow-headers", 500 * time.Millisecond, 500 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.reqTimeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.reqTimeout)
					defer cancel()
				}
				base := &fakeTransport{}
				rt := timeout.Transport(base, time.Second)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.invalid"+tt.path, nil)
				require.NoError(t, err)
				start := time.Now()
				resp, err := rt.RoundTrip(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					assert.Equal(t, "hello", string(b))
					require.NoError(t, resp.Body.Close())
				}
				assert.Equal(t, tt.wantAt, time.Since(start))
				require.Error(t, err)
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				if !tt.wantTimeout {
					assert.Equal(t, context.DeadlineExceeded, err)
					return
				}
				var te *timeout.Error
				require.ErrorAs(t, err, &te)
				assert.Equal(t, time.Second, te.Duration)
				assert.ErrorIs(t, err, timeout.ErrTimeout)
			})
		})
	}
}

// TestTransportCloseReleases checks that closing the body cancels the
// request's context at once, before the deadline.
func TestTransportCloseReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := &fakeTransport{}
		rt := timeout.Transport(base, time.Hour)
		req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		require.NoError(t, err)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		require.NoError(t, base.ctx.Err(), "the deadline covers the body: the context lives on after RoundTrip")
		buf := make([]byte, 5)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, context.Canceled, base.ctx.Err())
	})
}

func TestTransportPanics(t *testing.T) {
	assert.PanicsWithValue(t, "timeout: Transport(0s): d must be positive", func() { timeout.Transport(nil, 0) })
}

// newServer starts a server on 127.0.0.1 with handlers for the tests below;
// handlers that stall do so until the request is cancelled or the test ends.
func newServer(t *testing.T) *httptest.Server {
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	mux.HandleFunc("/stall", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	mux.HandleFunc("/stall-body", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})
	return srv
}

func TestTransportServer(t *testing.T) {
	srv := newServer(t)
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	t.Run("ok", func(t *testing.T) {
		c := &http.Client{Transport: timeout.Transport(base, time.Minute)}
		resp, err := c.Get(srv.URL + "/ok")
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, "hello", string(b))
	})

	t.Run("no headers before the deadline", func(t *testing.T) {
		c := &http.Client{Transport: timeout.Transport(base, 20*time.Millisecond)}
		_, err := c.Get(srv.URL + "/stall")
		require.Error(t, err)
		assert.ErrorIs(t, err, timeout.ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assert.True(t, ue.Timeout())
		var te *timeout.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 20*time.Millisecond, te.Duration)
	})

	t.Run("messages say the deadline once", func(t *testing.T) {
		c := &http.Client{Transport: timeout.Transport(base, 20*time.Millisecond)}
		_, err := c.Get(srv.URL + "/stall")
		assert.EqualError(t, err, `Get "`+srv.URL+`/stall": timeout: 20ms deadline exceeded`)

		err = timeout.Do(context.Background(), 20*time.Millisecond, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stall", nil)
			require.NoError(t, err)
			resp, err := (&http.Client{Transport: base}).Do(req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		})
		assert.EqualError(t, err, `timeout: 20ms deadline exceeded: Get "`+srv.URL+`/stall"`)
	})

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := &http.Client{Transport: timeout.Transport(base, time.Minute)}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stall", nil)
		require.NoError(t, err)
		time.AfterFunc(time.Millisecond, cancel)
		_, err = c.Do(req)
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, timeout.ErrTimeout)
	})

	t.Run("deadline while reading the body", func(t *testing.T) {
		// The headers come at once but the deadline must be long enough
		// for them to arrive on a loaded machine; try longer deadlines
		// until they do. What is tested is the body read that follows.
		for d := 50 * time.Millisecond; ; d *= 4 {
			c := &http.Client{Transport: timeout.Transport(base, d)}
			resp, err := c.Get(srv.URL + "/stall-body")
			if err != nil && d < 5*time.Second {
				require.ErrorIs(t, err, timeout.ErrTimeout)
				continue
			}
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, "partial", string(b))
			var te *timeout.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, d, te.Duration)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			return
		}
	})
}

// TestTransportSwitchingProtocols checks that a 101 response body can still
// be written to.
func TestTransportSwitchingProtocols(t *testing.T) {
	conn := &rwc{}
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusSwitchingProtocols, Body: conn, Request: req}, nil
	})
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	require.NoError(t, err)
	resp, err := timeout.Transport(base, time.Minute).RoundTrip(req)
	require.NoError(t, err)
	w, ok := resp.Body.(io.ReadWriteCloser)
	require.True(t, ok)
	_, err = io.WriteString(w, "ping")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "ping", conn.String())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

type rwc struct{ strings.Builder }

func (*rwc) Read([]byte) (int, error) { return 0, io.EOF }
func (*rwc) Close() error             { return nil }
