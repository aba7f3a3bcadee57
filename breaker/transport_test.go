package breaker_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/breaker"
)

// statusServer starts a server on 127.0.0.1 that answers with the status in
// *status and counts the requests it gets.
func statusServer(t *testing.T, status *atomic.Int32, hits *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// client returns a client whose transport goes through b, with its own base
// transport whose idle connections are closed at the end of the test.
func client(t *testing.T, b *breaker.Breaker, opts ...breaker.TransportOption) *http.Client {
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: breaker.Transport(base, b, opts...)}
}

func get(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestTransportStatus(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int32
		opts     []breaker.TransportOption
		want     breaker.State
	}{
		{"5xx are failures", []int32{500, 503}, nil, breaker.Open},
		{"4xx are successes", []int32{404, 429}, nil, breaker.Closed},
		{"a success resets the run", []int32{502, 200, 502}, nil, breaker.Closed},
		{"classify 429 as failure", []int32{429, 429}, []breaker.TransportOption{breaker.ClassifyResponse(func(resp *http.Response, err error) breaker.Outcome {
			if err != nil || resp.StatusCode == http.StatusTooManyRequests {
				return breaker.Failure
			}
			return breaker.Success
		})}, breaker.Open},
		{"classify 5xx as ignored", []int32{500, 500}, []breaker.TransportOption{breaker.ClassifyResponse(func(*http.Response, error) breaker.Outcome {
			return breaker.Ignore
		})}, breaker.Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status, hits atomic.Int32
			srv := statusServer(t, &status, &hits)
			b := breaker.New(breaker.ConsecutiveFailures(2))
			c := client(t, b, tt.opts...)
			for _, s := range tt.statuses {
				status.Store(s)
				got, err := get(c, srv.URL)
				require.NoError(t, err)
				assert.EqualValues(t, s, got, "the response is passed through whatever its status")
			}
			assert.Equal(t, tt.want, b.State())
			assert.EqualValues(t, len(tt.statuses), hits.Load())
		})
	}
}

func TestTransportRejectsWithoutSending(t *testing.T) {
	var status, hits atomic.Int32
	status.Store(500)
	srv := statusServer(t, &status, &hits)
	b := breaker.New(breaker.ConsecutiveFailures(1))
	c := client(t, b)
	_, err := get(c, srv.URL)
	require.NoError(t, err)
	require.Equal(t, breaker.Open, b.State())

	body := &closeRecorder{Reader: strings.NewReader("payload")}
	req, err := http.NewRequest(http.MethodPost, srv.URL, body)
	require.NoError(t, err)
	_, err = c.Do(req)
	require.ErrorIs(t, err, breaker.ErrOpen)
	var oe *breaker.OpenError
	assert.ErrorAs(t, err, &oe)
	assert.EqualValues(t, 1, hits.Load(), "the rejected request reached the server")
	assert.True(t, body.closed.Load(), "the rejected request's body was not closed")
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func TestTransportErrorIsFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now: the dial fails
	b := breaker.New(breaker.ConsecutiveFailures(1))
	c := client(t, b)
	_, err := get(c, url)
	require.Error(t, err)
	assert.NotErrorIs(t, err, breaker.ErrOpen)
	assert.Equal(t, breaker.Open, b.State())
}

func TestTransportCanceledIgnored(t *testing.T) {
	entered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	b := breaker.New(breaker.ConsecutiveFailures(1))
	c := client(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	go func() { <-entered; cancel() }()
	_, err = c.Do(req)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, breaker.Stats{State: breaker.Closed, Ignored: 1}, b.Stats())
}

func TestTransportNilDefaults(t *testing.T) {
	assert.PanicsWithValue(t, "breaker: Transport(base, nil): b must not be nil", func() { breaker.Transport(nil, nil) })
	assert.PanicsWithValue(t, "breaker: ClassifyResponse(nil): fn must not be nil", func() { breaker.ClassifyResponse(nil) })

	// A nil base is http.DefaultTransport; an open breaker never reaches it.
	b := breaker.New()
	b.ForceOpen()
	resp, err := breaker.Transport(nil, b).RoundTrip(httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil))
	assert.Nil(t, resp)
	assert.True(t, errors.Is(err, breaker.ErrOpen))
}

func TestTransportPanicCounted(t *testing.T) {
	b := breaker.New(breaker.ConsecutiveFailures(1))
	rt := breaker.Transport(panicking{}, b)
	assert.PanicsWithValue(t, "transport bug", func() {
		_, _ = rt.RoundTrip(httptest.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil))
	})
	assert.Equal(t, breaker.Open, b.State())
}

type panicking struct{}

func (panicking) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }
