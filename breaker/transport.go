package breaker

import (
	"context"
	"errors"
	"net/http"
)

// A TransportOption configures Transport.
type TransportOption func(*transport)

// ClassifyResponse sets how Transport counts a round trip from its response
// and error (exactly one of which is nil). The default counts a response
// with a 5xx status as Failure and any other response as Success; an error
// is Ignore when the request was cancelled (its context is cancelled, or
// the error matches context.Canceled) and otherwise is classified as the
// breaker classifies errors (Failure, by default). fn must be safe for
// concurrent use. It panics if fn is nil.
func ClassifyResponse(fn func(resp *http.Response, err error) Outcome) TransportOption {
	if fn == nil {
		panic("breaker: ClassifyResponse(nil): fn must not be nil")
	}
	return func(t *transport) { t.classify = fn }
}

type transport struct {
	base     http.RoundTripper
	b        *Breaker
	classify func(*http.Response, error) Outcome
}

// Transport returns an http.RoundTripper that sends requests through base
// (http.DefaultTransport if nil) under b: a request b rejects is not sent,
// its body is closed, and RoundTrip returns an *OpenError (matching
// ErrOpen); every other round trip's outcome is counted by b as
// ClassifyResponse describes. For SlowCalls, a round trip lasts until its
// response headers arrive: reading the body happens after, outside b.
// Transport panics if b is nil.
//
// Put Transport inside retry.Transport, so that b counts every try rather
// than only each request's final outcome; retry honours the RetryAfter of
// the *OpenError it returns, so a retry that meets an open breaker waits
// for the next probe or gives up, instead of hammering it.
func Transport(base http.RoundTripper, b *Breaker, opts ...TransportOption) http.RoundTripper {
	if b == nil {
		panic("breaker: Transport(base, nil): b must not be nil")
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{base: base, b: b}
	for _, o := range opts {
		o(t)
	}
	return t
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	tok, err := t.b.admit()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	returned := false
	defer func() {
		if !returned {
			t.b.recordOutcome(tok, Failure) // base panicked
		}
	}()
	resp, err = t.base.RoundTrip(req)
	returned = true
	var o Outcome
	switch {
	case t.classify != nil:
		o = t.classify(resp, err)
	case err == nil && resp.StatusCode >= 500:
		o = Failure
	case err == nil:
		o = Success
	case errors.Is(err, context.Canceled) || errors.Is(req.Context().Err(), context.Canceled):
		o = Ignore
	default:
		o = t.b.classify(err)
	}
	t.b.recordOutcome(tok, o)
	return resp, err
}
