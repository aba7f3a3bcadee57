package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/retry"
)

// Budget registers the instruments of b on m under name:
// weft.retry.budget.credit and weft.retry.budget.retries (per weft.outcome:
// credit, floor, denied). It returns the registration to unregister with,
// or an error wrapping ErrDuplicate if a budget named name is already
// registered on m.
func Budget(m metric.Meter, name string, b *retry.Budget, opts ...Option) (metric.Registration, error) {
	if b == nil {
		panic("weftotel: Budget: nil budget")
	}
	bl := newBuilder(m, "budget", name, opts)
	credit := bl.fgauge("weft.retry.budget.credit", "{retry}", "Retries the budget's credit pays for now.")
	retries := bl.counter("weft.retry.budget.retries", "{retry}", "Retries asked of the budget, per weft.outcome: credit, floor (allowed, paid by each), denied.")
	byCredit, byFloor, denied := bl.with(OutcomeKey.String("credit")), bl.with(OutcomeKey.String("floor")), bl.with(OutcomeKey.String("denied"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := b.Stats()
		o.ObserveFloat64(credit, b.Credit(), bl.opt)
		o.ObserveInt64(retries, int64(st.Granted), byCredit)
		o.ObserveInt64(retries, int64(st.Floor), byFloor)
		o.ObserveInt64(retries, int64(st.Denied), denied)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}

// Policy registers the instruments of p on m under name:
// weft.retry.retries, weft.retry.calls (per weft.outcome: recovered,
// exhausted, denied). Calls whose first try succeeds are not counted. It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a policy named name is already registered on m.
func Policy(m metric.Meter, name string, p *retry.Policy, opts ...Option) (metric.Registration, error) {
	if p == nil {
		panic("weftotel: Policy: nil policy")
	}
	bl := newBuilder(m, "policy", name, opts)
	retries := bl.counter("weft.retry.retries", "{retry}", "Tries after a call's first.")
	calls := bl.counter("weft.retry.calls", "{call}", "Calls whose first try failed, per weft.outcome: recovered, exhausted, denied.")
	recovered := bl.with(OutcomeKey.String("recovered"))
	exhausted := bl.with(OutcomeKey.String("exhausted"))
	denied := bl.with(OutcomeKey.String("denied"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		o.ObserveInt64(retries, int64(st.Retries), bl.opt)
		o.ObserveInt64(calls, int64(st.Recovered), recovered)
		o.ObserveInt64(calls, int64(st.Exhausted), exhausted)
		o.ObserveInt64(calls, int64(st.Denied), denied)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
