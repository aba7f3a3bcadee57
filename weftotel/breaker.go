package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/breaker"
)

// states lists a breaker's states in the order of their values.
var states = [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen}

// stateName is the weft.state value of s.
func stateName(s breaker.State) string {
	switch s {
	case breaker.Closed:
		return "closed"
	case breaker.Open:
		return "open"
	case breaker.HalfOpen:
		return "half_open"
	}
	return s.String()
}

// Breaker registers the instruments of b on m under name (the weft.name
// attribute): weft.breaker.state, weft.breaker.calls (per weft.outcome:
// success, failure, ignored, rejected), weft.breaker.slow_calls,
// weft.breaker.transitions, the weft.breaker.window.* gauges and, with the
// CallDurations option, the histogram weft.breaker.call.duration (see the
// package documentation). A breaker counts its successes from its first
// Stats call on, which this registration makes: from then on a closed
// breaker's successful call adds one to a counter on its goroutine's
// stripe (a breaker with a Window(n) counts them from New anyway). It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a breaker named name is already registered on m.
func Breaker(m metric.Meter, name string, b *breaker.Breaker, opts ...Option) (metric.Registration, error) {
	if b == nil {
		panic("weftotel: Breaker: nil breaker")
	}
	bl := newBuilder(m, "breaker", name, opts)
	b.Stats() // starts the count of successes and rejections
	state := bl.updown("weft.breaker.state", "{state}", "1 for the breaker's current state and 0 for the others, per weft.state.")
	calls := bl.counter("weft.breaker.calls", "{call}", "Calls, per weft.outcome: success, failure, ignored, rejected.")
	slowCalls := bl.counter("weft.breaker.slow_calls", "{call}", "Calls slower than the SlowCalls threshold.")
	transitions := bl.counter("weft.breaker.transitions", "{transition}", "State changes, per weft.state entered.")
	wCalls := bl.gauge("weft.breaker.window.calls", "{call}", "Calls counted in the breaker's current failure-rate window.")
	wFail := bl.gauge("weft.breaker.window.failures", "{call}", "Failed calls in the breaker's current failure-rate window.")
	wSlow := bl.gauge("weft.breaker.window.slow", "{call}", "Slow calls in the breaker's current failure-rate window.")
	consec := bl.gauge("weft.breaker.consecutive_failures", "{call}", "The current run of failures while closed.")

	var stateOpts [len(states)]metric.ObserveOption
	for i, s := range states {
		stateOpts[i] = bl.with(StateKey.String(stateName(s)))
	}
	var hist metric.Float64Histogram
	if bl.cfg.callDurations {
		hist = bl.histogram("weft.breaker.call.duration", "Time each admitted call ran, per weft.outcome: success, failure (any error).")
	}
	success := bl.with(OutcomeKey.String("success"))
	failure := bl.with(OutcomeKey.String("failure"))
	ignored := bl.with(OutcomeKey.String("ignored"))
	rejected := bl.with(OutcomeKey.String("rejected"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := b.Stats()
		for i, s := range states {
			var v int64
			if st.State == s {
				v = 1
			}
			o.ObserveInt64(state, v, stateOpts[i])
		}
		o.ObserveInt64(calls, int64(st.Succeeded), success)
		o.ObserveInt64(calls, int64(st.Failed), failure)
		o.ObserveInt64(calls, int64(st.Ignored), ignored)
		o.ObserveInt64(calls, int64(st.Rejected), rejected)
		o.ObserveInt64(slowCalls, int64(st.SlowCalls), bl.opt)
		o.ObserveInt64(transitions, int64(st.Reclosed), stateOpts[0])
		o.ObserveInt64(transitions, int64(st.Opened), stateOpts[1])
		o.ObserveInt64(transitions, int64(st.HalfOpened), stateOpts[2])
		o.ObserveInt64(wCalls, int64(st.Calls), bl.opt)
		o.ObserveInt64(wFail, int64(st.Failures), bl.opt)
		o.ObserveInt64(wSlow, int64(st.Slow), bl.opt)
		o.ObserveInt64(consec, int64(st.ConsecutiveFailures), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if hist != nil {
		reg.undo = append(reg.undo, b.Observe(bl.durations(hist, "call", "success", "failure")))
	}
	return reg, nil
}
