package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/retry"
)

// Budget registers the instruments of b on m under name:
// weft.retry.budget.credit. It returns the registration to unregister with,
// or an error wrapping ErrDuplicate if a budget named name is already
// registered on m.
func Budget(m metric.Meter, name string, b *retry.Budget, opts ...Option) (metric.Registration, error) {
	if b == nil {
		panic("weftotel: Budget: nil budget")
	}
	bl := newBuilder(m, "budget", name, opts)
	credit := bl.fgauge("weft.retry.budget.credit", "{retry}", "Retries the budget's credit pays for now.")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		o.ObserveFloat64(credit, b.Credit(), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
