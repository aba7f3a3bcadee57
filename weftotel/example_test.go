package weftotel_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/weftotel"
)

func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	meter := mp.Meter("example")

	b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Minute))
	reg, err := weftotel.Breaker(meter, "payments", b)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()

	ctx := context.Background()
	_ = b.Do(ctx, func(context.Context) error { return nil })                // succeeds
	_ = b.Do(ctx, func(context.Context) error { return context.Canceled })   // ignored
	_ = b.Do(ctx, func(context.Context) error { return errors.New("down") }) // trips
	_ = b.Do(ctx, func(context.Context) error { return nil })                // rejected

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "weft.breaker.calls" {
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
	// weft.breaker.calls failure 1
	// weft.breaker.calls ignored 1
	// weft.breaker.calls rejected 1
	// weft.breaker.calls success 1
}

func ExampleBreaker_duplicate() {
	mp := sdkmetric.NewMeterProvider()
	defer mp.Shutdown(context.Background())
	meter := mp.Meter("example")

	b := breaker.New()
	reg, _ := weftotel.Breaker(meter, "payments", b)
	_, err := weftotel.Breaker(meter, "payments", b)
	fmt.Println(errors.Is(err, weftotel.ErrDuplicate))
	_ = reg.Unregister()
	reg, err = weftotel.Breaker(meter, "payments", b)
	fmt.Println(err)
	_ = reg.Unregister()
	// Output:
	// true
	// <nil>
}
