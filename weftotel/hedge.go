package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/timeout"
)

// Hedge registers the instruments of c, a counter given to timeout.Hedge
// calls with timeout.CountInto, on m under name: weft.hedge.calls (the
// calls that ended, per weft.outcome: succeeded, failed, panicked),
// weft.hedge.running, weft.hedge.hedges (extra attempts started) and
// weft.hedge.wins (calls an extra attempt won). It returns the registration
// to unregister with, or an error wrapping ErrDuplicate if a hedge counter
// named name is already registered on m.
func Hedge(m metric.Meter, name string, c *timeout.HedgeCounter, opts ...Option) (metric.Registration, error) {
	if c == nil {
		panic("weftotel: Hedge: nil counter")
	}
	bl := newBuilder(m, "hedge", name, opts)
	calls := bl.counter("weft.hedge.calls", "{call}", "Hedge calls that ended, per weft.outcome: succeeded, failed, panicked.")
	running := bl.updown("weft.hedge.running", "{call}", "Hedge calls running.")
	hedges := bl.counter("weft.hedge.hedges", "{attempt}", "Extra attempts started, beyond each call's first.")
	wins := bl.counter("weft.hedge.wins", "{call}", "Hedge calls that succeeded with an extra attempt's value.")
	succeeded := bl.with(OutcomeKey.String("succeeded"))
	failed := bl.with(OutcomeKey.String("failed"))
	panicked := bl.with(OutcomeKey.String("panicked"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := c.Stats()
		o.ObserveInt64(calls, int64(st.Succeeded), succeeded)
		o.ObserveInt64(calls, int64(st.Failed), failed)
		o.ObserveInt64(calls, int64(st.Panicked), panicked)
		o.ObserveInt64(running, int64(st.Calls-st.Succeeded-st.Failed-st.Panicked), bl.opt)
		o.ObserveInt64(hedges, int64(st.Hedges), bl.opt)
		o.ObserveInt64(wins, int64(st.Won), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
