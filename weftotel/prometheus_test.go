package weftotel_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/weftotel"
)

// TestPrometheusScrape serves the Prometheus exporter on 127.0.0.1, scrapes
// it once over HTTP and parses the answer with the Prometheus text parser.
func TestPrometheusScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	m := mp.Meter("github.com/weftgo/weft/weftotel/test")

	b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Hour))
	r1, err := weftotel.Breaker(m, "payments", b)
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Unregister()
	bh := limiter.NewBulkhead(2, 0)
	r2, err := weftotel.Bulkhead(m, "uploads", bh)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Unregister()

	ctx := context.Background()
	_ = b.Do(ctx, func(context.Context) error { return errors.New("down") })
	_ = b.Do(ctx, func(context.Context) error { return nil }) // rejected
	_ = bh.Do(ctx, func(context.Context) error { return nil })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}

	// value returns the sample of family fam whose labels include want.
	value := func(fam string, want map[string]string) (float64, bool) {
		f, ok := fams[fam]
		if !ok {
			return 0, false
		}
	next:
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			switch {
			case mt.Counter != nil:
				return mt.GetCounter().GetValue(), true
			case mt.Gauge != nil:
				return mt.GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	for _, c := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{"weft_breaker_state", map[string]string{"weft_name": "payments", "weft_state": "open"}, 1},
		{"weft_breaker_state", map[string]string{"weft_name": "payments", "weft_state": "closed"}, 0},
		{"weft_breaker_calls_total", map[string]string{"weft_name": "payments", "weft_outcome": "rejected"}, 1},
		{"weft_bulkhead_calls_total", map[string]string{"weft_name": "uploads", "weft_outcome": "completed"}, 1},
		{"weft_bulkhead_running", map[string]string{"weft_name": "uploads"}, 0},
	} {
		got, ok := value(c.fam, c.labels)
		if !ok {
			var names []string
			for n := range fams {
				names = append(names, n)
			}
			t.Errorf("%s%v: not in the scrape (families: %s)", c.fam, c.labels, strings.Join(names, " "))
			continue
		}
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.fam, c.labels, got, c.want)
		}
	}
}
