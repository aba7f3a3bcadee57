package limiter

import "net/http"

// Transport returns an http.RoundTripper that waits, as r.Wait does, until r
// admits the request before sending it through base (http.DefaultTransport
// when base is nil). If the request's context ends first, or the wait would
// outlast its deadline, the request is not sent: its body is closed and the
// error from Wait is returned (the context's cause, or an error matching
// ErrRateExceeded). Transport panics if r is nil.
func Transport(base http.RoundTripper, r *Rate) http.RoundTripper {
	if r == nil {
		panic("limiter: Transport(base, nil): r must not be nil")
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &rateTransport{base: base, r: r}
}

type rateTransport struct {
	base http.RoundTripper
	r    *Rate
}

func (t *rateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.r.Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}
