package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/group"
)

// Group registers the instruments of g on m under name:
// weft.group.running and the counters weft.group.tasks.started,
// .completed, .failed, .panicked and .skipped (see the package
// documentation). A Group lives for one call, so unregister before or when
// Wait returns. It returns the registration to unregister with, or an error
// wrapping ErrDuplicate if a group named name is already registered on m.
func Group(m metric.Meter, name string, g *group.Group, opts ...Option) (metric.Registration, error) {
	if g == nil {
		panic("weftotel: Group: nil group")
	}
	bl := newBuilder(m, "group", name, opts)
	running := bl.updown("weft.group.running", "{task}", "Tasks running now.")
	started := bl.counter("weft.group.tasks.started", "{task}", "Tasks started.")
	completed := bl.counter("weft.group.tasks.completed", "{task}", "Tasks that ended, however.")
	failed := bl.counter("weft.group.tasks.failed", "{task}", "Tasks that returned an error or panicked.")
	panicked := bl.counter("weft.group.tasks.panicked", "{task}", "Tasks that panicked or called runtime.Goexit.")
	skipped := bl.counter("weft.group.tasks.skipped", "{task}", "Tasks given to Go after the group's context ended, which never ran.")
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := g.Stats()
		o.ObserveInt64(running, int64(st.Running), bl.opt)
		o.ObserveInt64(started, int64(st.Started), bl.opt)
		o.ObserveInt64(completed, int64(st.Completed), bl.opt)
		o.ObserveInt64(failed, int64(st.Failed), bl.opt)
		o.ObserveInt64(panicked, int64(st.Panicked), bl.opt)
		o.ObserveInt64(skipped, int64(st.Skipped), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
