package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/limiter"
)

// Bulkhead registers the instruments of bh on m under name:
// weft.bulkhead.running, weft.bulkhead.queued and weft.bulkhead.calls (see
// the package documentation). It returns the registration to unregister
// with, or an error wrapping ErrDuplicate if a bulkhead named name is already
// registered on m.
func Bulkhead(m metric.Meter, name string, bh *limiter.Bulkhead, opts ...Option) (metric.Registration, error) {
	if bh == nil {
		panic("weftotel: Bulkhead: nil bulkhead")
	}
	bl := newBuilder(m, "bulkhead", name, opts)
	running := bl.updown("weft.bulkhead.running", "{call}", "Calls running inside the bulkhead.")
	queued := bl.updown("weft.bulkhead.queued", "{call}", "Calls waiting in the bulkhead's queue.")
	calls := bl.counter("weft.bulkhead.calls", "{call}", "Calls that left the bulkhead, per weft.outcome.")
	completed := bl.with(OutcomeKey.String("completed"))
	rejected := bl.with(OutcomeKey.String("rejected"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := bh.Stats()
		o.ObserveInt64(running, int64(st.Running), bl.opt)
		o.ObserveInt64(queued, int64(st.Queued), bl.opt)
		o.ObserveInt64(calls, st.Completed, completed)
		o.ObserveInt64(calls, st.Rejected, rejected)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Semaphore registers the instruments of s on m under name:
// weft.semaphore.limit, weft.semaphore.held and weft.semaphore.waiters. It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a semaphore named name is already registered on m.
func Semaphore(m metric.Meter, name string, s *limiter.Semaphore, opts ...Option) (metric.Registration, error) {
	if s == nil {
		panic("weftotel: Semaphore: nil semaphore")
	}
	return semaphore(m, "semaphore", name, s.Stats, opts)
}

// Adaptive registers the instruments of a on m under name:
// weft.adaptive.limit, weft.adaptive.held and weft.adaptive.waiters. It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if an adaptive limit named name is already registered on m.
func Adaptive(m metric.Meter, name string, a *limiter.Adaptive, opts ...Option) (metric.Registration, error) {
	if a == nil {
		panic("weftotel: Adaptive: nil adaptive limit")
	}
	return semaphore(m, "adaptive", name, a.Stats, opts)
}

// semaphore registers the gauges of a SemaphoreStats source as
// weft.<kind>.*.
func semaphore(m metric.Meter, kind, name string, stats func() limiter.SemaphoreStats, opts []Option) (metric.Registration, error) {
	bl := newBuilder(m, kind, name, opts)
	limit := bl.gauge("weft."+kind+".limit", "{permit}", "The most permits held at once.")
	held := bl.updown("weft."+kind+".held", "{permit}", "Permits held now.")
	waiters := bl.updown("weft."+kind+".waiters", "{call}", "Acquire calls waiting for permits.")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := stats()
		o.ObserveInt64(limit, st.Limit, bl.opt)
		o.ObserveInt64(held, st.Held, bl.opt)
		o.ObserveInt64(waiters, int64(st.Waiters), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Keyed registers the instruments of k on m under name: weft.keyed.keys.
// It returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a keyed limiter named name is already registered on m.
func Keyed[K comparable](m metric.Meter, name string, k *limiter.Keyed[K], opts ...Option) (metric.Registration, error) {
	if k == nil {
		panic("weftotel: Keyed: nil keyed limiter")
	}
	bl := newBuilder(m, "keyed", name, opts)
	keys := bl.updown("weft.keyed.keys", "{key}", "Keys the limiter holds a bucket for.")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(keys, int64(k.Len()), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
