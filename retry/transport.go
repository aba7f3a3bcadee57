package retry

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// A TransportOption configures Transport.
type TransportOption func(*transport)

// Idempotent replaces Transport's test of which requests may be retried.
// Whatever it says, a request whose body cannot be rewound (Body set and
// GetBody nil) is sent once. Idempotent panics if fn is nil.
func Idempotent(fn func(*http.Request) bool) TransportOption {
	if fn == nil {
		panic("retry: Idempotent(nil): fn must not be nil")
	}
	return func(t *transport) { t.idempotent = fn }
}

// RetryResponse replaces Transport's test of which responses are retried;
// the default retries status 429 and every 5xx. RetryResponse panics if fn is
// nil.
func RetryResponse(fn func(*http.Response) bool) TransportOption {
	if fn == nil {
		panic("retry: RetryResponse(nil): fn must not be nil")
	}
	return func(t *transport) { t.retryable = fn }
}

// Transport returns an http.RoundTripper that sends each request through base
// (http.DefaultTransport when base is nil) and retries it as p says.
//
// Only idempotent requests are retried by default: methods GET, HEAD,
// OPTIONS, TRACE, PUT and DELETE, and any request with an Idempotency-Key or
// X-Idempotency-Key header (see Idempotent). A request with a body is
// retried only when its GetBody can give the body again (http.NewRequest
// sets it for bytes, strings and bytes.Buffer readers); each retry sends a
// fresh body from GetBody. Other requests are sent once, untouched.
//
// Transport errors and responses with status 429 or 5xx are retried (see
// RetryResponse). A 429 or 503 response with a Retry-After header, in
// seconds or as an HTTP date, is honoured as if the try had returned After
// with that delay, with the same caps and deadline rules. The body of every
// response that is retried is drained (up to 64 KiB) and closed, so the
// connection can be reused. When p gives up, the last response is returned
// as is, with a nil error, as if there had been no Transport; if the last try
// failed without a response, or the request's context is done, the error is
// returned. The policy's If and OnRetry see an error whose message carries
// the response status.
//
// Transport panics if p is nil.
func Transport(base http.RoundTripper, p *Policy, opts ...TransportOption) http.RoundTripper {
	if p == nil {
		panic("retry: Transport(base, nil): p must not be nil")
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, p: p, idempotent: idempotent, retryable: retryableResponse}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

type transport struct {
	base       http.RoundTripper
	p          *Policy
	idempotent func(*http.Request) bool
	retryable  func(*http.Response) bool
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if (hasBody && req.GetBody == nil) || !t.idempotent(req) {
		return t.base.RoundTrip(req)
	}
	var (
		last  *http.Response // the latest retryable response, still open
		tries int
	)
	err := t.p.Do(req.Context(), func(context.Context) error {
		r := req
		if tries++; tries > 1 {
			discard(last)
			last = nil
			if hasBody {
				body, err := req.GetBody()
				if err != nil {
					return Permanent(err)
				}
				rr := *req
				rr.Body = body
				r = &rr
			}
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return err
		}
		last = resp
		if !t.retryable(resp) {
			return nil
		}
		serr := &statusError{resp.Status}
		if d, ok := retryAfter(resp); ok {
			return After(d, serr)
		}
		return serr
	})
	if last != nil && (err == nil || req.Context().Err() == nil) {
		return last, nil
	}
	discard(last)
	return nil, err
}

// idempotent is the default test of Transport.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	_, ok := r.Header["Idempotency-Key"]
	_, xok := r.Header["X-Idempotency-Key"]
	return ok || xok
}

// retryableResponse is the default response test of Transport.
func retryableResponse(r *http.Response) bool {
	return r.StatusCode == http.StatusTooManyRequests || r.StatusCode >= 500
}

// retryAfter returns the delay a 429 or 503 response asks for.
func retryAfter(r *http.Response) (time.Duration, bool) {
	if r.StatusCode != http.StatusTooManyRequests && r.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	v := r.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 63); err == nil {
		if s > math.MaxInt64/uint64(time.Second) {
			return math.MaxInt64, true
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return time.Until(at), true
	}
	return 0, false
}

// discard drains and closes a response that will not be handed back.
func discard(r *http.Response) {
	if r == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	_ = r.Body.Close()
}

// statusError is the error a try returns for a retryable response.
type statusError struct{ status string }

func (e *statusError) Error() string { return "retry: server responded " + e.status }
