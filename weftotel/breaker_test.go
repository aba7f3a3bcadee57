package weftotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/weftotel"
)

// histogram returns the data point of histogram name for weft.name=n and
// the extra attributes kv.
func histogram(t *testing.T, ms map[string]metricdata.Metrics, name, n string, kv ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	want := attribute.NewSet(append([]attribute.KeyValue{weftotel.NameKey.String(n)}, kv...)...)
	if h, ok := ms[name].Data.(metricdata.Histogram[float64]); ok {
		for _, p := range h.DataPoints {
			if p.Attributes.Equals(&want) {
				return p
			}
		}
	}
	t.Fatalf("%s%v: no histogram point", name, kv)
	return metricdata.HistogramDataPoint[float64]{}
}

// TestBreakerCallOutcomes runs a scripted sequence through a registered
// breaker (successes, an ignored call, failures that trip it, rejections,
// a probe that closes it) and checks every outcome's exact count and the
// call-duration histogram, whose durations synctest makes exact.
func TestBreakerCallOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader(t)
		b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Second))
		ctx := context.Background()
		ok := func(context.Context) error { time.Sleep(10 * time.Millisecond); return nil }
		fail := func(context.Context) error { time.Sleep(100 * time.Millisecond); return errBoom }
		_ = b.Do(ctx, ok) // before registration: not counted, not timed
		reg, err := weftotel.Breaker(r.mp.Meter("test"), "payments", b, weftotel.CallDurations(),
			weftotel.DurationBuckets(0.05, 0.5))
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()

		for range 3 {
			if err := b.Do(ctx, ok); err != nil {
				t.Fatal(err)
			}
		}
		_ = b.Do(ctx, func(context.Context) error { return context.Canceled }) // ignored
		_ = b.Do(ctx, fail)
		_ = b.Do(ctx, fail) // trips
		for range 2 {
			if err := b.Do(ctx, ok); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("Do on an open breaker = %v, want ErrOpen", err)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if _, err := breaker.Get(ctx, b, func(ctx context.Context) (int, error) { return 1, ok(ctx) }); err != nil {
			t.Fatalf("probe: %v", err) // closes
		}
		ms := r.collect()
		check(t, ms, "payments", []want{
			{"weft.breaker.state", []attribute.KeyValue{state("closed")}, 1},
			{"weft.breaker.calls", []attribute.KeyValue{outcome("success")}, 4},
			{"weft.breaker.calls", []attribute.KeyValue{outcome("failure")}, 2},
			{"weft.breaker.calls", []attribute.KeyValue{outcome("ignored")}, 1},
			{"weft.breaker.calls", []attribute.KeyValue{outcome("rejected")}, 2},
			{"weft.breaker.transitions", []attribute.KeyValue{state("open")}, 1},
			{"weft.breaker.transitions", []attribute.KeyValue{state("half_open")}, 1},
			{"weft.breaker.transitions", []attribute.KeyValue{state("closed")}, 1},
		})
		okH := histogram(t, ms, "weft.breaker.call.duration", "payments", outcome("success"))
		if okH.Count != 4 || okH.Sum < 0.0399 || okH.Sum > 0.0401 || okH.BucketCounts[0] != 4 {
			t.Errorf("success durations: count %d sum %v buckets %v, want 4 calls of 10ms", okH.Count, okH.Sum, okH.BucketCounts)
		}
		badH := histogram(t, ms, "weft.breaker.call.duration", "payments", outcome("failure"))
		if badH.Count != 3 || badH.Sum < 0.1999 || badH.Sum > 0.2001 || badH.BucketCounts[0] != 1 || badH.BucketCounts[1] != 2 {
			t.Errorf("failure durations: count %d sum %v buckets %v, want one at 0s and two of 100ms", badH.Count, badH.Sum, badH.BucketCounts)
		}
		if m := ms["weft.breaker.call.duration"]; m.Unit != "s" {
			t.Errorf("weft.breaker.call.duration unit %q, want s", m.Unit)
		}
	})
}

// TestBreakerNoCallDurations checks that the call histogram is opt-in, and
// that a breaker with a Window(n) reports the successes since New.
func TestBreakerNoCallDurations(t *testing.T) {
	r := newReader(t)
	b := breaker.New(breaker.FailureRate(0.5, breaker.Window(10)))
	ctx := context.Background()
	_ = b.Do(ctx, func(context.Context) error { return nil })
	reg, err := weftotel.Breaker(r.mp.Meter("test"), "win", b)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	_ = b.Do(ctx, func(context.Context) error { return nil })
	ms := r.collect()
	if _, ok := ms["weft.breaker.call.duration"]; ok {
		t.Error("weft.breaker.call.duration recorded without CallDurations")
	}
	check(t, ms, "win", []want{{"weft.breaker.calls", []attribute.KeyValue{outcome("success")}, 2}})
}

// TestBreakerUnregisterDetachesObserver checks that Unregister removes the
// breaker's observer: a call after it is not timed.
func TestBreakerUnregisterDetachesObserver(t *testing.T) {
	r := newReader(t)
	b := breaker.New()
	ctx := context.Background()
	m := r.mp.Meter("test")
	reg, err := weftotel.Breaker(m, "gone", b, weftotel.CallDurations())
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(ctx, func(context.Context) error { return nil })
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	_ = b.Do(ctx, func(context.Context) error { return nil })
	reg, err = weftotel.Breaker(m, "gone", b) // the histogram without a new observer
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ms := r.collect()
	if h := histogram(t, ms, "weft.breaker.call.duration", "gone", outcome("success")); h.Count != 1 {
		t.Errorf("call.duration count = %d after Unregister, want 1", h.Count)
	}
	check(t, ms, "gone", []want{{"weft.breaker.calls", []attribute.KeyValue{outcome("success")}, 2}})
}
