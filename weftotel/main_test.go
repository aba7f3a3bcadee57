package weftotel_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/weftotel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// reader is a ManualReader with its provider, and helpers to look up one
// data point.
type reader struct {
	t  testing.TB
	r  *sdkmetric.ManualReader
	mp *sdkmetric.MeterProvider
}

func newReader(t testing.TB) *reader {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &reader{t: t, r: r, mp: mp}
}

// collect returns every metric of the meter named "test", by name.
func (r *reader) collect() map[string]metricdata.Metrics {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.r.Collect(context.Background(), &rm); err != nil {
		r.t.Fatalf("Collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "test" {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// point returns the value of metric name for weft.name=n and the extra
// attributes kv, and whether that point exists.
func point(ms map[string]metricdata.Metrics, name, n string, kv ...attribute.KeyValue) (float64, bool) {
	m, ok := ms[name]
	if !ok {
		return 0, false
	}
	want := attribute.NewSet(append([]attribute.KeyValue{weftotel.NameKey.String(n)}, kv...)...)
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Value), true
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return p.Value, true
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Value), true
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return p.Value, true
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&want) {
				return float64(p.Count), true
			}
		}
	}
	return 0, false
}

// want is one expected data point.
type want struct {
	metric string
	attrs  []attribute.KeyValue
	value  float64
}

// check asserts every expected point of the registration named n.
func check(t *testing.T, ms map[string]metricdata.Metrics, n string, wants []want) {
	t.Helper()
	for _, w := range wants {
		got, ok := point(ms, w.metric, n, w.attrs...)
		if !ok {
			t.Errorf("%s%v: no data point", w.metric, w.attrs)
			continue
		}
		if got != w.value {
			t.Errorf("%s%v = %v, want %v", w.metric, w.attrs, got, w.value)
		}
	}
}

func outcome(s string) attribute.KeyValue { return weftotel.OutcomeKey.String(s) }
func state(s string) attribute.KeyValue   { return weftotel.StateKey.String(s) }
