package weftotel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/weftgo/weft/internal/observe"
)

// durations returns the observer, in weft's one hook shape, that records
// the events of kind event into h in seconds, with weft.outcome set to ok
// for an event without an error and to bad for one with an error. The
// options are made here, once, so that recording allocates nothing for
// them.
func (b *builder) durations(h metric.Float64Histogram, event, ok, bad string) func(observe.Observation) {
	okOpt := b.with(OutcomeKey.String(ok))
	badOpt := b.with(OutcomeKey.String(bad))
	ctx := context.Background()
	return func(o observe.Observation) {
		if o.Event != event {
			return
		}
		opt := okOpt
		if o.Err != nil {
			opt = badOpt
		}
		h.Record(ctx, o.Duration.Seconds(), opt)
	}
}
