package redisrate

import (
	"context"
	"time"
)

// SetNow makes r's script use now(), in µs since the Unix epoch, instead of
// the server's clock, so that tests can drive time.
func (r *Rate) SetNow(now func() int64) { r.l.now = now }

// Reserve exposes reserve: it takes n events, waiting at most maxWait.
func (r *Rate) Reserve(ctx context.Context, n int, maxWait time.Duration) (ok bool, wait time.Duration, err error) {
	ok, w, err := r.reserve(ctx, n, int64(maxWait))
	return ok, time.Duration(w), err
}

// Interval returns r's emission interval.
func (r *Rate) Interval() time.Duration { return time.Duration(r.l.interval) }
