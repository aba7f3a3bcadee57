package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Policy says how often and how patiently to retry. A Policy is immutable
// after New and safe to share between goroutines and calls; each call keeps
// its own schedule. The zero Policy tries once and never retries; use New.
type Policy struct {
	config // set by New, never changed after
	// counts is set by New; a zero Policy counts nothing. Only calls whose
	// first try fails write it, so a first-try success stays as cheap.
	counts *counters
}

// counters are a Policy's cumulative counts; see Stats.
type counters struct {
	retries, recovered, exhausted, denied atomic.Uint64
}

// Stats is a snapshot of a Policy's counters, which only grow. Calls whose
// first try succeeds are not counted, so that they cost nothing more.
type Stats struct {
	// Retries is the number of tries after a call's first.
	Retries uint64
	// Recovered is the number of calls that succeeded after at least one
	// retry.
	Recovered uint64
	// Exhausted is the number of calls that gave up with ErrExhausted: out
	// of attempts, of MaxElapsed, or of time before the context's deadline.
	Exhausted uint64
	// Denied is the number of calls that gave up because the budget
	// refused a retry (ErrBudgetExhausted).
	Denied uint64
}

// Stats returns the policy's counters. It takes no lock. A zero Policy's
// are always zero.
func (p *Policy) Stats() Stats {
	c := p.counts
	if c == nil {
		return Stats{}
	}
	return Stats{Retries: c.retries.Load(), Recovered: c.recovered.Load(), Exhausted: c.exhausted.Load(), Denied: c.denied.Load()}
}

// config is what the options set.
type config struct {
	attempts    int
	maxElapsed  time.Duration
	initial     time.Duration
	max         time.Duration
	mult        float64
	exponential bool
	jitter      jitter
	retryIf     func(error) bool
	onRetry     func(Event)
	budget      *Budget
	capAfter    bool
	rand        rand.Source // nil: math/rand/v2's global source
}

// New returns a Policy made of the defaults changed by opts: DefaultAttempts
// tries, Exponential(DefaultInitial, DefaultMax) with Multiplier 2 and
// FullJitter, every error but a Permanent one retried, no MaxElapsed, no
// budget. New panics if an option is invalid; each option's doc says when.
func New(opts ...Option) *Policy {
	p := &Policy{config: config{
		attempts:    DefaultAttempts,
		initial:     DefaultInitial,
		max:         DefaultMax,
		mult:        2,
		exponential: true,
	}, counts: new(counters)}
	for _, opt := range opts {
		opt(&p.config)
	}
	if p.jitter == jitterDefault {
		p.jitter = jitterNone
		if p.exponential {
			p.jitter = jitterFull
		}
	}
	return p
}

// Do calls fn until it returns nil, then returns nil. Between tries it waits
// as the policy says. fn receives ctx unchanged.
//
// Do stops and returns an error when:
//   - fn returns a Permanent error or one that If rejects: that error, as
//     Permanent describes;
//   - ctx is done after a failed try, or while Do waits (the wait ends at
//     once): an *Error whose Cause is context.Cause(ctx);
//   - Attempts is reached, or the next delay would not end before ctx's
//     deadline, or would end past MaxElapsed (Do then does not wait): an
//     *Error with ErrExhausted;
//   - the budget refuses the retry: an *Error with ErrBudgetExhausted.
//
// The two time limits differ at their boundary. A retry is made only if its
// delay ends strictly before ctx's deadline: a try that would start at the
// deadline would find ctx already done. MaxElapsed bounds the start of the
// last try and includes its end: a delay that ends exactly MaxElapsed after
// Do was called is waited, and the try made.
//
// In each *Error case errors.Is holds for the cause and for the last try's
// error. Do starts no goroutine; it starts at most one timer, which it stops
// before returning, and none when every delay is zero. A call whose first
// try succeeds does not allocate, nor does one that succeeds after retries
// with zero delays. Do panics with "retry: nil context" or "retry: nil
// function" if ctx or fn is nil.
func (p *Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	if ctx == nil || fn == nil {
		panicNil(ctx)
	}
	var start time.Time
	if p.maxElapsed > 0 {
		start = time.Now()
	}
	if p.budget != nil {
		p.budget.deposit()
	}
	err := fn(ctx)
	if err == nil {
		return nil
	}
	return p.retry(ctx, fn, err, start)
}

// Get is Do for a function that returns a value: it returns the value of the
// try that succeeded, or the zero T and Do's error. Get panics with "retry:
// nil context", "retry: nil Policy" or "retry: nil function" if ctx, p or fn
// is nil.
func Get[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if ctx == nil || p == nil || fn == nil {
		if p == nil && ctx != nil {
			panic("retry: nil Policy")
		}
		panicNil(ctx)
	}
	var start time.Time
	if p.maxElapsed > 0 {
		start = time.Now()
	}
	if p.budget != nil {
		p.budget.deposit()
	}
	v, err := fn(ctx)
	if err == nil {
		return v, nil
	}
	var out T // declared here so that only a failed first try allocates it
	err = p.retry(ctx, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	}, err, start)
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// panicNil panics for a nil ctx, or else for a nil function.
func panicNil(ctx context.Context) {
	if ctx == nil {
		panic("retry: nil context")
	}
	panic("retry: nil function")
}

// retry runs the tries after the first, which failed with err, and counts
// how the call ended.
func (p *Policy) retry(ctx context.Context, fn func(context.Context) error, err error, start time.Time) error {
	retries, err := p.retries(ctx, fn, err, start)
	if c := p.counts; c != nil {
		c.retries.Add(uint64(retries))
		switch {
		case err == nil:
			c.recovered.Add(1)
		case errors.Is(err, ErrBudgetExhausted):
			c.denied.Add(1)
		case errors.Is(err, ErrExhausted):
			c.exhausted.Add(1)
		}
	}
	return err
}

// retries runs the tries after the first, which failed with err, and
// returns the number of retries made and the call's error.
func (p *Policy) retries(ctx context.Context, fn func(context.Context) error, err error, start time.Time) (retries int, _ error) {
	var (
		h     history
		s     = p.schedule()
		timer *time.Timer // created by the first non-zero delay, then reused
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		perm, asked, hasAsked := markers(err)
		if perm {
			return retries, unmark(err)
		}
		err = unmark(err)
		if p.retryIf != nil && !p.retryIf(err) {
			return retries, err
		}
		h.add(err)
		if ctx.Err() != nil {
			return retries, h.fail(context.Cause(ctx), ctx.Err())
		}
		if h.n >= p.attempts {
			return retries, h.fail(ErrExhausted, nil)
		}

		d := s.next()
		if hasAsked {
			d = asked
			if p.capAfter {
				d = min(d, p.max)
			}
		}
		if d > 0 || p.maxElapsed > 0 {
			// Written so that no sum overflows, whatever d is. The
			// boundaries are Do's: before the deadline, within MaxElapsed.
			now := time.Now()
			if dl, ok := ctx.Deadline(); ok && dl.Sub(now) <= d {
				return retries, h.fail(ErrExhausted, nil)
			}
			if p.maxElapsed > 0 && p.maxElapsed-now.Sub(start) < d {
				return retries, h.fail(ErrExhausted, nil)
			}
		}
		if p.budget != nil && !p.budget.withdraw() {
			return retries, h.fail(ErrBudgetExhausted, nil)
		}
		if p.onRetry != nil {
			p.onRetry(Event{Attempt: h.n, Err: err, Delay: d, After: hasAsked})
		}

		if d > 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
				return retries, h.fail(context.Cause(ctx), ctx.Err())
			}
		}
		retries++
		if err = fn(ctx); err == nil {
			return retries, nil
		}
	}
}
