package timeout

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Transport returns an http.RoundTripper that sends each request through
// base (http.DefaultTransport when base is nil) under a deadline at most d
// away, as Do would; each redirect an http.Client follows is a request of
// its own. The deadline covers the whole exchange, reading the
// response body included, as http.Client's Timeout does; its timer is
// released when the body is closed, so callers must close it, as always.
//
// When that deadline passes first, RoundTrip, or a Read from the response
// body, returns an *Error wrapping the transport's error, which satisfies
// errors.Is(err, ErrTimeout) and errors.Is(err, context.DeadlineExceeded),
// also through the *url.Error that http.Client adds. When the request's own
// context ends first, its error is returned unchanged and is not ErrTimeout.
//
// Transport panics if d is not positive.
func Transport(base http.RoundTripper, d time.Duration) http.RoundTripper {
	if d <= 0 {
		panic("timeout: Transport(" + d.String() + "): d must be positive")
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, d: d}
}

// transport is the http.RoundTripper that Transport returns.
type transport struct {
	base http.RoundTripper
	d    time.Duration
}

// RoundTrip sends req through t.base under t's deadline.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeoutCause(parent, t.d, ErrTimeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		err = wrap(parent, ctx, t.d, err)
		cancel()
		return nil, err
	}
	if resp.Body == nil {
		cancel()
		return resp, nil
	}
	b := body{ReadCloser: resp.Body, parent: parent, ctx: ctx, cancel: cancel, d: t.d}
	if rw, ok := resp.Body.(io.ReadWriteCloser); ok {
		// A 101 Switching Protocols body is also the connection's writer.
		resp.Body = &rwBody{body: b, w: rw}
	} else {
		resp.Body = &b
	}
	return resp, nil
}

// body is a response body read under the deadline of its request; closing
// it releases the deadline's timer.
type body struct {
	io.ReadCloser
	parent, ctx context.Context
	cancel      context.CancelFunc
	d           time.Duration
}

// Read reads from the body, reporting an *Error when the read failed because
// the request's deadline passed.
func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != io.EOF {
		err = wrap(b.parent, b.ctx, b.d, err)
	}
	return n, err
}

// Close closes the body and releases the request's deadline.
func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// rwBody is a body that can also be written to.
type rwBody struct {
	body
	w io.Writer
}

// Write writes to the underlying connection.
func (b *rwBody) Write(p []byte) (int, error) { return b.w.Write(p) }
