package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/pool"
)

// Pool registers the instruments of p on m under name: weft.pool.resources
// (per weft.state), weft.pool.resources.max, weft.pool.waiting,
// weft.pool.acquires, weft.pool.waits, weft.pool.wait.time,
// weft.pool.creates and weft.pool.destroyed (see the package
// documentation). It returns the registration to unregister with, or an
// error wrapping ErrDuplicate if a pool named name is already registered on
// m. Unregister before closing the pool.
func Pool[T any](m metric.Meter, name string, p *pool.Pool[T], opts ...Option) (metric.Registration, error) {
	if p == nil {
		panic("weftotel: Pool: nil pool")
	}
	bl := newBuilder(m, "pool", name, opts)
	res := bl.updown("weft.pool.resources", "{resource}", "Resources counted against the pool's size, per weft.state: idle, in_use, creating, destroying.")
	maxSize := bl.gauge("weft.pool.resources.max", "{resource}", "The pool's MaxSize.")
	waiting := bl.updown("weft.pool.waiting", "{call}", "Acquire calls waiting for a resource.")
	acquires := bl.counter("weft.pool.acquires", "{call}", "Acquire and TryAcquire calls that ended, per weft.outcome: acquired, cancelled.")
	waits := bl.counter("weft.pool.waits", "{call}", "Acquire calls that had to wait, however they ended.")
	waitTime := bl.fcounter("weft.pool.wait.time", "s", "Total time Acquire calls waited.")
	creates := bl.counter("weft.pool.creates", "{resource}", "Calls of the create function, per weft.outcome: success, failure.")
	destroyed := bl.counter("weft.pool.destroyed", "{resource}", "Resources destroyed, per weft.reason: broken, idle, expired, unhealthy, closed.")

	var (
		idle, inUse, creating, destroying = bl.with(StateKey.String("idle")), bl.with(StateKey.String("in_use")), bl.with(StateKey.String("creating")), bl.with(StateKey.String("destroying"))
		acquired, cancelled               = bl.with(OutcomeKey.String("acquired")), bl.with(OutcomeKey.String("cancelled"))
		success, failure                  = bl.with(OutcomeKey.String("success")), bl.with(OutcomeKey.String("failure"))
		broken, expiredIdle, expired      = bl.with(ReasonKey.String("broken")), bl.with(ReasonKey.String("idle")), bl.with(ReasonKey.String("expired"))
		unhealthy, closed                 = bl.with(ReasonKey.String("unhealthy")), bl.with(ReasonKey.String("closed"))
	)
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		o.ObserveInt64(res, int64(st.Idle), idle)
		o.ObserveInt64(res, int64(st.InUse), inUse)
		o.ObserveInt64(res, int64(st.Creating), creating)
		o.ObserveInt64(res, int64(st.Destroying), destroying)
		o.ObserveInt64(maxSize, int64(st.MaxSize), bl.opt)
		o.ObserveInt64(waiting, int64(st.Waiting), bl.opt)
		o.ObserveInt64(acquires, st.Acquired, acquired)
		o.ObserveInt64(acquires, st.Cancelled, cancelled)
		o.ObserveInt64(waits, st.WaitCount, bl.opt)
		o.ObserveFloat64(waitTime, st.WaitTime.Seconds(), bl.opt)
		o.ObserveInt64(creates, st.Created, success)
		o.ObserveInt64(creates, st.CreateErrors, failure)
		o.ObserveInt64(destroyed, st.DestroyedBroken, broken)
		o.ObserveInt64(destroyed, st.DestroyedIdle, expiredIdle)
		o.ObserveInt64(destroyed, st.DestroyedExpired, expired)
		o.ObserveInt64(destroyed, st.DestroyedUnhealthy, unhealthy)
		o.ObserveInt64(destroyed, st.DestroyedClosed, closed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
