package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/monitor"
)

// QuantileKey names the quantile of a distribution summarised by a gauge:
// p50, p99 or max.
const QuantileKey = attribute.Key("weft.quantile")

// Monitor registers the instruments of mon's Snapshot on m under name:
// weft.monitor.schedule.latency, weft.monitor.timer.lag and
// weft.monitor.gc.pause (per weft.quantile), weft.monitor.lag,
// weft.monitor.overloaded, weft.monitor.goroutines,
// weft.monitor.runnable and weft.monitor.mutex.wait (see the package
// documentation). Figures the runtime does not report are left out. It
// returns the registration to unregister with, or an error wrapping
// ErrDuplicate if a monitor named name is already registered on m.
func Monitor(m metric.Meter, name string, mon *monitor.Monitor, opts ...Option) (metric.Registration, error) {
	if mon == nil {
		panic("weftotel: Monitor: nil monitor")
	}
	bl := newBuilder(m, "monitor", name, opts)
	sched := bl.fgauge("weft.monitor.schedule.latency", "s", "Time goroutines spent runnable before they ran, over the monitor's window, per weft.quantile.")
	timer := bl.fgauge("weft.monitor.timer.lag", "s", "How late the monitor's periodic timer ran, over its window, per weft.quantile.")
	gc := bl.fgauge("weft.monitor.gc.pause", "s", "The GC's stop-the-world pauses over the monitor's window, per weft.quantile.")
	lag := bl.fgauge("weft.monitor.lag", "s", "The value compared with the overload threshold: the larger 99th percentile of scheduling latency and timer lag.")
	over := bl.gauge("weft.monitor.overloaded", "1", "1 while the monitor reports the process overloaded, else 0.")
	gor := bl.updown("weft.monitor.goroutines", "{goroutine}", "Live goroutines.")
	runnable := bl.updown("weft.monitor.runnable", "{goroutine}", "Goroutines ready to run but not running.")
	mutex := bl.fgauge("weft.monitor.mutex.wait", "1", "Time goroutines spent blocked on locks per second over the window.")
	q := [3]metric.MeasurementOption{bl.with(QuantileKey.String("p50")), bl.with(QuantileKey.String("p99")), bl.with(QuantileKey.String("max"))}
	quantiles := func(o metric.Observer, g metric.Float64ObservableGauge, x monitor.Quantiles) {
		o.ObserveFloat64(g, x.P50.Seconds(), q[0])
		o.ObserveFloat64(g, x.P99.Seconds(), q[1])
		o.ObserveFloat64(g, x.Max.Seconds(), q[2])
	}
	reg, err := bl.register(func(_ context.Context, o metric.Observer) error {
		s := mon.Snapshot()
		quantiles(o, sched, s.SchedLatency)
		quantiles(o, timer, s.TimerLag)
		quantiles(o, gc, s.GCPause)
		o.ObserveFloat64(lag, s.Lag.Seconds(), bl.opt)
		var v int64
		if s.Overloaded {
			v = 1
		}
		o.ObserveInt64(over, v, bl.opt)
		if s.Goroutines >= 0 {
			o.ObserveInt64(gor, int64(s.Goroutines), bl.opt)
		}
		if s.Runnable >= 0 {
			o.ObserveInt64(runnable, int64(s.Runnable), bl.opt)
		}
		if s.MutexWait >= 0 {
			o.ObserveFloat64(mutex, s.MutexWait, bl.opt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reg, nil
}
