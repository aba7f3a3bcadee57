package weftotel_test

import (
	"context"
	"testing"

	"github.com/weftgo/weft/monitor"
	"github.com/weftgo/weft/weftotel"
)

func TestMonitor(t *testing.T) {
	r := newReader(t)
	m := monitor.Start(context.Background())
	defer m.Stop()
	reg, err := weftotel.Monitor(r.mp.Meter("test"), "process", m)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ms := r.collect()
	for _, q := range []string{"p50", "p99", "max"} {
		if _, ok := point(ms, "weft.monitor.schedule.latency", "process", weftotel.QuantileKey.String(q)); !ok {
			t.Errorf("no weft.monitor.schedule.latency{%s}", q)
		}
	}
	check(t, ms, "process", []want{{"weft.monitor.overloaded", nil, 0}})
}
