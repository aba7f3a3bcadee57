package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/group"
)

// Group registers the instruments of g on m under name:
// weft.group.running and weft.group.tasks (see the package documentation).
// A Group lives for one call, so unregister before or when Wait returns. It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a group named name is already registered on m.
func Group(m metric.Meter, name string, g *group.Group, opts ...Option) (metric.Registration, error) {
	if g == nil {
		panic("weftotel: Group: nil group")
	}
	bl := newBuilder(m, "group", name, opts)
	running := bl.updown("weft.group.running", "{task}", "Tasks running now.")
	tasks := bl.counter("weft.group.tasks", "{task}", "Tasks, per weft.outcome: started, failed.")
	started := bl.with(OutcomeKey.String("started"))
	failed := bl.with(OutcomeKey.String("failed"))
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := g.Stats()
		o.ObserveInt64(running, int64(st.Running), bl.opt)
		o.ObserveInt64(tasks, int64(st.Started), started)
		o.ObserveInt64(tasks, int64(st.Failed), failed)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
