package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/group"
)

// Executor registers the instruments of ex on m under name:
// weft.executor.limit, weft.executor.workers, weft.executor.running,
// weft.executor.queued, weft.executor.waiting, weft.executor.submitted,
// weft.executor.tasks and weft.executor.queue.time (see the package
// documentation). It returns the registration to unregister with, or an
// error wrapping ErrDuplicate if an executor named name is already
// registered on m.
func Executor(m metric.Meter, name string, ex *group.Executor, opts ...Option) (metric.Registration, error) {
	if ex == nil {
		panic("weftotel: Executor: nil executor")
	}
	bl := newBuilder(m, "executor", name, opts)
	limit := bl.gauge("weft.executor.limit", "{task}", "The most tasks the executor runs at once.")
	workers := bl.updown("weft.executor.workers", "{goroutine}", "Worker goroutines, running a task or idle.")
	running := bl.updown("weft.executor.running", "{task}", "Tasks running now.")
	queued := bl.updown("weft.executor.queued", "{task}", "Accepted tasks waiting for a worker.")
	waiting := bl.updown("weft.executor.waiting", "{call}", "Submit calls blocked for room in the queue.")
	submitted := bl.counter("weft.executor.submitted", "{task}", "Tasks accepted.")
	tasks := bl.counter("weft.executor.tasks", "{task}", "Tasks that ended, per weft.outcome: succeeded, failed, panicked, cancelled, dropped, rejected.")
	queueTime := bl.fcounter("weft.executor.queue.time", "s", "Total time tasks spent in the queue.")
	var (
		succeeded, failed, panicked = bl.with(OutcomeKey.String("succeeded")), bl.with(OutcomeKey.String("failed")), bl.with(OutcomeKey.String("panicked"))
		cancelled, dropped          = bl.with(OutcomeKey.String("cancelled")), bl.with(OutcomeKey.String("dropped"))
		rejected                    = bl.with(OutcomeKey.String("rejected"))
	)
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		st := ex.Stats()
		o.ObserveInt64(limit, int64(st.Limit), bl.opt)
		o.ObserveInt64(workers, int64(st.Workers), bl.opt)
		o.ObserveInt64(running, int64(st.Running), bl.opt)
		o.ObserveInt64(queued, int64(st.Queued), bl.opt)
		o.ObserveInt64(waiting, int64(st.Waiting), bl.opt)
		o.ObserveInt64(submitted, int64(st.Submitted), bl.opt)
		o.ObserveInt64(tasks, int64(st.Completed-st.Failed-st.Panicked), succeeded)
		o.ObserveInt64(tasks, int64(st.Failed), failed)
		o.ObserveInt64(tasks, int64(st.Panicked), panicked)
		o.ObserveInt64(tasks, int64(st.Cancelled), cancelled)
		o.ObserveInt64(tasks, int64(st.Dropped), dropped)
		o.ObserveInt64(tasks, int64(st.Rejected), rejected)
		o.ObserveFloat64(queueTime, st.QueueWait.Seconds(), bl.opt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
