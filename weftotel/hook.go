package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/internal/observe"
)

// durations returns the observer, in weft's one hook shape, that records
// the events of kind event into h in seconds, with weft.outcome set to ok
// for an event without an error and to bad for one with an error. The
// options, and the variadic slices that carry them, are made here, once,
// so that recording allocates nothing for them (a slice built at each call
// escapes through the interface method Record: 16 bytes per event).
func (b *builder) durations(h metric.Float64Histogram, event, ok, bad string) func(observe.Observation) {
	okOpts := []metric.RecordOption{b.with(OutcomeKey.String(ok))}
	badOpts := []metric.RecordOption{b.with(OutcomeKey.String(bad))}
	ctx := context.Background()
	return func(o observe.Observation) {
		if o.Event != event {
			return
		}
		opts := okOpts
		if o.Err != nil {
			opts = badOpts
		}
		h.Record(ctx, o.Duration.Seconds(), opts...)
	}
}
