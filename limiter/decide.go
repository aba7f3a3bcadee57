package limiter

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/gcra"
)

// A Decision is the outcome of one admission check, with what a server
// reports to its client (for example in Retry-After and RateLimit header
// fields).
type Decision struct {
	Allowed    bool          // the event was admitted and recorded
	Limit      int           // the burst: events a full bucket admits at once
	Remaining  int           // events that could still be admitted now, after this decision
	RetryAfter time.Duration // when !Allowed: time until one event would be admitted; 0 when Allowed
	Reset      time.Duration // time until the bucket is full again (Remaining would equal Limit)
}

// Decide is Allow with the numbers: it admits and records one event if it
// may happen now, and returns the decision with the limiter's state after
// it. A refusal changes nothing. Decide does not allocate.
func (r *Rate) Decide() Decision {
	if r.interval == 0 {
		r.check()
		r.count(true, 1)
		return Decision{Allowed: true, Limit: r.burst, Remaining: r.burst}
	}
	now := r.now()
	tat, wait, ok := gcra.Take(&r.tat, now, r.interval, r.tolerance, 0)
	r.count(ok, 1)
	if !ok {
		return Decision{
			Limit:      r.burst,
			RetryAfter: time.Duration(wait),
			Reset:      time.Duration(max(tat, now) - now),
		}
	}
	return Decision{
		Allowed:   true,
		Limit:     r.burst,
		Remaining: gcra.Remaining(wait, r.interval),
		Reset:     time.Duration(tat - now),
	}
}

// Decide is Allow with the numbers: it admits and records one event for key
// if it may happen now, and returns the decision of key's limiter (see
// Rate.Decide).
func (k *Keyed[K]) Decide(key K) Decision {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	d := k.get(s, key).Decide()
	s.count(d.Allowed)
	return d
}

// Acquire waits for a slot, FIFO, as Do does before it calls its function,
// and returns a done function to call when the work is over (calls after the
// first are ignored, so a deferred safety call cannot release twice; a
// non-nil error counts in Stats' Failed). If every slot is busy and the queue is full, Acquire returns
// ErrFull at once; if ctx is done first, it returns context.Cause(ctx). On
// error done is nil. Acquire allocates the done function; Do does not
// allocate. Acquire panics if ctx is nil.
func (b *Bulkhead) Acquire(ctx context.Context) (done func(err error), err error) {
	if err := b.acquire(ctx); err != nil {
		return nil, err
	}
	var used atomic.Bool
	return func(err error) {
		if !used.Swap(true) {
			b.done(err)
		}
	}, nil
}
