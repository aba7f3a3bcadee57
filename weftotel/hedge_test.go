package weftotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/weftgo/weft/timeout"
	"github.com/weftgo/weft/weftotel"
)

// TestHedge scripts hedged calls through one counter and checks the exact
// values exported after each step.
func TestHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader(t)
		var c timeout.HedgeCounter
		reg, err := weftotel.Hedge(r.mp.Meter("test"), "search", &c)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		if _, err := weftotel.Hedge(r.mp.Meter("test"), "search", &c); !errors.Is(err, weftotel.ErrDuplicate) {
			t.Fatalf("second registration: err = %v, want ErrDuplicate", err)
		}
		ctx := context.Background()
		count := timeout.CountInto(&c)
		const delay = 10 * time.Millisecond

		// A fast first attempt, then one the hedge wins.
		fast := func(context.Context) (int, error) { return 1, nil }
		if _, err := timeout.Hedge(ctx, delay, fast, count); err != nil {
			t.Fatal(err)
		}
		var calls atomic.Int32
		slowFirst := func(ctx context.Context) (int, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return 2, nil
		}
		if v, err := timeout.Hedge(ctx, delay, slowFirst, count); v != 2 || err != nil {
			t.Fatalf("Hedge = %v, %v; want the hedge's 2", v, err)
		}
		check(t, r.collect(), "search", []want{
			{"weft.hedge.calls", []attribute.KeyValue{outcome("succeeded")}, 2},
			{"weft.hedge.calls", []attribute.KeyValue{outcome("failed")}, 0},
			{"weft.hedge.calls", []attribute.KeyValue{outcome("panicked")}, 0},
			{"weft.hedge.running", nil, 0},
			{"weft.hedge.hedges", nil, 1},
			{"weft.hedge.wins", nil, 1},
		})

		// A call whose every attempt fails, and one whose hedge panics.
		fail := func(context.Context) (int, error) { return 0, errBoom }
		if _, err := timeout.Hedge(ctx, delay, fail, count, timeout.MaxHedges(2)); !errors.Is(err, errBoom) {
			t.Fatalf("Hedge = %v, want errBoom", err)
		}
		calls.Store(0)
		panicky := func(ctx context.Context) (int, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			panic("hedge broke")
		}
		func() {
			defer func() { _ = recover() }()
			_, _ = timeout.Hedge(ctx, delay, panicky, count)
		}()

		// A call still running, its hedge started.
		release := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = timeout.Hedge(ctx, delay, func(ctx context.Context) (int, error) {
				<-release
				return 0, nil
			}, count)
		}()
		time.Sleep(2 * delay)
		synctest.Wait()
		check(t, r.collect(), "search", []want{
			{"weft.hedge.calls", []attribute.KeyValue{outcome("succeeded")}, 2},
			{"weft.hedge.calls", []attribute.KeyValue{outcome("failed")}, 1},
			{"weft.hedge.calls", []attribute.KeyValue{outcome("panicked")}, 1},
			{"weft.hedge.running", nil, 1},
			{"weft.hedge.hedges", nil, 1 + 2 + 1 + 1},
			{"weft.hedge.wins", nil, 1},
		})
		close(release)
		<-done
		check(t, r.collect(), "search", []want{
			{"weft.hedge.calls", []attribute.KeyValue{outcome("succeeded")}, 3},
			{"weft.hedge.running", nil, 0},
		})

		// Unregistering releases the name.
		if err := reg.Unregister(); err != nil {
			t.Fatal(err)
		}
		reg2, err := weftotel.Hedge(r.mp.Meter("test"), "search", &c)
		if err != nil {
			t.Fatalf("registration after Unregister: %v", err)
		}
		_ = reg2.Unregister()
	})
}

func TestHedgeNil(t *testing.T) {
	defer func() {
		if r := recover(); r != "weftotel: Hedge: nil counter" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	_, _ = weftotel.Hedge(newReader(t).mp.Meter("test"), "x", nil)
}

func ExampleHedge() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	var c timeout.HedgeCounter // count into it with timeout.CountInto
	reg, err := weftotel.Hedge(mp.Meter("example"), "search", &c)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	ctx := context.Background()
	count := timeout.CountInto(&c)
	_, _ = timeout.Hedge(ctx, time.Second, func(context.Context) (string, error) { return "fast", nil }, count)
	_, _ = timeout.Hedge(ctx, time.Second, func(context.Context) (string, error) { return "", errors.New("down") }, count, timeout.MaxHedges(0))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "weft.hedge.calls" {
			continue
		}
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			outcome, _ := p.Attributes.Value(weftotel.OutcomeKey)
			lines = append(lines, fmt.Sprint(m.Name, " ", outcome.AsString(), " ", p.Value))
		}
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// weft.hedge.calls failed 1
	// weft.hedge.calls panicked 0
	// weft.hedge.calls succeeded 1
}
