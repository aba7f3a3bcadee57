package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/limiter"
)

// DirectionKey says which way a limit changed: up or down.
const DirectionKey = attribute.Key("weft.direction")

// Bulkhead registers the instruments of bh on m under name:
// weft.bulkhead.running, .queued, .calls (per weft.outcome: completed,
// rejected, cancelled), .calls.failed, .calls.panicked, .waits, .wait.time
// and the histogram weft.bulkhead.queue.duration of the time each queued
// caller waited (per weft.outcome: admitted, cancelled), fed by the
// bulkhead's Observe hook, which a caller admitted without queueing does
// not reach. It returns the registration to unregister with, or an error
// wrapping ErrDuplicate if a bulkhead named name is already registered on
// m.
func Bulkhead(m metric.Meter, name string, bh *limiter.Bulkhead, opts ...Option) (metric.Registration, error) {
	if bh == nil {
		panic("weftotel: Bulkhead: nil bulkhead")
	}
	bl := newBuilder(m, "bulkhead", name, opts)
	running := bl.updown("weft.bulkhead.running", "{call}", "Calls running inside the bulkhead.")
	queued := bl.updown("weft.bulkhead.queued", "{call}", "Calls waiting in the bulkhead's queue.")
	calls := bl.counter("weft.bulkhead.calls", "{call}", "Calls that left the bulkhead, per weft.outcome: completed, rejected, cancelled.")
	failed := bl.counter("weft.bulkhead.calls.failed", "{call}", "Completed calls whose function returned an error.")
	panicked := bl.counter("weft.bulkhead.calls.panicked", "{call}", "Completed calls whose function panicked.")
	waits := bl.counter("weft.bulkhead.waits", "{call}", "Calls that queued, however their wait ended.")
	waitTime := bl.fcounter("weft.bulkhead.wait.time", "s", "Total time calls spent queued.")
	hist := bl.histogram("weft.bulkhead.queue.duration", "Time a queued call waited for a slot, per weft.outcome: admitted, cancelled.")
	completed := bl.with(OutcomeKey.String("completed"))
	rejected := bl.with(OutcomeKey.String("rejected"))
	cancelled := bl.with(OutcomeKey.String("cancelled"))
	observer := bl.durations(hist, "wait", "admitted", "cancelled")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := bh.Stats()
		o.ObserveInt64(running, int64(st.Running), bl.opt)
		o.ObserveInt64(queued, int64(st.Queued), bl.opt)
		o.ObserveInt64(calls, st.Completed, completed)
		o.ObserveInt64(calls, st.Rejected, rejected)
		o.ObserveInt64(calls, st.Cancelled, cancelled)
		o.ObserveInt64(failed, st.Failed, bl.opt)
		o.ObserveInt64(panicked, st.Panicked, bl.opt)
		o.ObserveInt64(waits, st.WaitCount, bl.opt)
		o.ObserveFloat64(waitTime, st.WaitTime.Seconds(), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	reg.undo = append(reg.undo, bh.Observe(observer))
	return reg, nil
}

// Semaphore registers the instruments of s on m under name:
// weft.semaphore.limit, .held, .waiters, .waits, .wait.time, .cancelled and
// the histogram weft.semaphore.wait.duration of the time each queued Acquire
// waited (per weft.outcome: admitted, cancelled). It returns the
// registration to unregister with, or an error wrapping ErrDuplicate if a
// semaphore named name is already registered on m.
func Semaphore(m metric.Meter, name string, s *limiter.Semaphore, opts ...Option) (metric.Registration, error) {
	if s == nil {
		panic("weftotel: Semaphore: nil semaphore")
	}
	bl := newBuilder(m, "semaphore", name, opts)
	sem := semaphoreInstruments(bl, "semaphore")
	hist := bl.histogram("weft.semaphore.wait.duration", "Time a queued Acquire waited for its permits, per weft.outcome: admitted, cancelled.")
	observer := bl.durations(hist, "wait", "admitted", "cancelled")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		sem.observe(o, bl, s.Stats())
		return nil
	})
	if err != nil {
		return nil, err
	}
	reg.undo = append(reg.undo, s.Observe(observer))
	return reg, nil
}

// Adaptive registers the instruments of a on m under name:
// weft.adaptive.limit, .held, .waiters, .waits, .wait.time, .cancelled,
// .limit.changes (per weft.direction: up, down) and the histogram
// weft.adaptive.call.duration of each call's time from Acquire to done (per
// weft.outcome: success, failure; calls whose done got a context.Canceled
// are not recorded). It returns the registration to unregister with, or an
// error wrapping ErrDuplicate if an adaptive limit named name is already
// registered on m.
func Adaptive(m metric.Meter, name string, a *limiter.Adaptive, opts ...Option) (metric.Registration, error) {
	if a == nil {
		panic("weftotel: Adaptive: nil adaptive limit")
	}
	bl := newBuilder(m, "adaptive", name, opts)
	sem := semaphoreInstruments(bl, "adaptive")
	changes := bl.counter("weft.adaptive.limit.changes", "{change}", "Changes of the limit, per weft.direction: up, down.")
	hist := bl.histogram("weft.adaptive.call.duration", "Time from Acquire to done of each call, per weft.outcome: success, failure.")
	up, down := bl.with(DirectionKey.String("up")), bl.with(DirectionKey.String("down"))
	observer := bl.durations(hist, "call", "success", "failure")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := a.Stats()
		sem.observe(o, bl, st.SemaphoreStats)
		o.ObserveInt64(changes, int64(st.Increases), up)
		o.ObserveInt64(changes, int64(st.Decreases), down)
		return nil
	})
	if err != nil {
		return nil, err
	}
	reg.undo = append(reg.undo, a.Observe(observer))
	return reg, nil
}

// semInstruments are the instruments of a SemaphoreStats, as
// weft.<kind>.*.
type semInstruments struct {
	limit, cancelled, waits metric.Int64Observable
	held, waiters           metric.Int64Observable
	waitTime                metric.Float64Observable
}

func semaphoreInstruments(bl *builder, kind string) semInstruments {
	return semInstruments{
		limit:     bl.gauge("weft."+kind+".limit", "{permit}", "The most permits held at once."),
		held:      bl.updown("weft."+kind+".held", "{permit}", "Permits held now."),
		waiters:   bl.updown("weft."+kind+".waiters", "{call}", "Acquire calls waiting for permits."),
		waits:     bl.counter("weft."+kind+".waits", "{call}", "Acquire calls that queued, however their wait ended."),
		waitTime:  bl.fcounter("weft."+kind+".wait.time", "s", "Total time Acquire calls spent queued."),
		cancelled: bl.counter("weft."+kind+".cancelled", "{call}", "Queued Acquire calls whose context ended first."),
	}
}

func (si semInstruments) observe(o metric.Observer, bl *builder, st limiter.SemaphoreStats) {
	o.ObserveInt64(si.limit, st.Limit, bl.opt)
	o.ObserveInt64(si.held, st.Held, bl.opt)
	o.ObserveInt64(si.waiters, int64(st.Waiters), bl.opt)
	o.ObserveInt64(si.waits, int64(st.WaitCount), bl.opt)
	o.ObserveFloat64(si.waitTime, st.WaitTime.Seconds(), bl.opt)
	o.ObserveInt64(si.cancelled, int64(st.Cancelled), bl.opt)
}

// Rate registers the instruments of r on m under name: weft.rate.events
// (per weft.outcome: admitted, rejected). A Rate counts from its first
// Stats call on, which this registration makes. It returns the
// registration to unregister with, or an error wrapping ErrDuplicate if a
// rate limiter named name is already registered on m.
func Rate(m metric.Meter, name string, r *limiter.Rate, opts ...Option) (metric.Registration, error) {
	if r == nil {
		panic("weftotel: Rate: nil rate limiter")
	}
	r.Stats() // starts the counters
	bl := newBuilder(m, "rate", name, opts)
	events := bl.counter("weft.rate.events", "{event}", "Events asked of the limiter, per weft.outcome: admitted, rejected.")
	admitted, rejected := bl.with(OutcomeKey.String("admitted")), bl.with(OutcomeKey.String("rejected"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := r.Stats()
		o.ObserveInt64(events, int64(st.Admitted), admitted)
		o.ObserveInt64(events, int64(st.Rejected), rejected)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Keyed registers the instruments of k on m under name: weft.keyed.keys,
// weft.keyed.events (per weft.outcome: admitted, rejected) and
// weft.keyed.evictions (per weft.reason: idle, capacity). It returns the
// registration to unregister with, or an error wrapping ErrDuplicate if a
// keyed limiter named name is already registered on m.
func Keyed[K comparable](m metric.Meter, name string, k *limiter.Keyed[K], opts ...Option) (metric.Registration, error) {
	if k == nil {
		panic("weftotel: Keyed: nil keyed limiter")
	}
	bl := newBuilder(m, "keyed", name, opts)
	keys := bl.updown("weft.keyed.keys", "{key}", "Keys the limiter holds a bucket for.")
	events := bl.counter("weft.keyed.events", "{event}", "Events asked of the limiter, per weft.outcome: admitted, rejected.")
	evictions := bl.counter("weft.keyed.evictions", "{key}", "Keys forgotten, per weft.reason: idle (full again for the idle TTL), capacity (room for a new key under MaxKeys).")
	admitted, rejected := bl.with(OutcomeKey.String("admitted")), bl.with(OutcomeKey.String("rejected"))
	idle, capacity := bl.with(ReasonKey.String("idle")), bl.with(ReasonKey.String("capacity"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := k.Stats()
		o.ObserveInt64(keys, int64(st.Keys), bl.opt)
		o.ObserveInt64(events, int64(st.Admitted), admitted)
		o.ObserveInt64(events, int64(st.Rejected), rejected)
		o.ObserveInt64(evictions, int64(st.Expired), idle)
		o.ObserveInt64(evictions, int64(st.Evicted), capacity)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
