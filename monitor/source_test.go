package monitor

import (
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMetricNames checks the names the monitor reads against the running
// toolchain's list, with the kinds it expects. Only the runnable count may
// be missing (it is new in Go 1.26).
func TestMetricNames(t *testing.T) {
	kinds := map[string]metrics.ValueKind{}
	for _, d := range metrics.All() {
		kinds[d.Name] = d.Kind
	}
	for name, want := range map[string]metrics.ValueKind{
		metricSchedLatency: metrics.KindFloat64Histogram,
		metricGCPause:      metrics.KindFloat64Histogram,
		metricGoroutines:   metrics.KindUint64,
		metricRunnable:     metrics.KindUint64,
		metricMutexWait:    metrics.KindFloat64,
		metricGOMAXPROCS:   metrics.KindUint64,
	} {
		got, ok := kinds[name]
		if !ok && name == metricRunnable {
			t.Logf("%s: not on this toolchain; reported as -1", name)
			continue
		}
		assert.True(t, ok, "%s: unknown to this toolchain", name)
		assert.Equal(t, want, got, name)
	}
}

// TestUnknownMetrics checks that a metric the toolchain does not know
// (metrics.KindBad) degrades to "unavailable" instead of failing.
func TestUnknownMetrics(t *testing.T) {
	s := []metrics.Sample{{Name: "/weft/no/such:metric"}}
	metrics.Read(s)
	assert.Equal(t, metrics.KindBad, s[0].Value.Kind())
	assert.Equal(t, -1, uintValue(s[0].Value))
	assert.Nil(t, histBuckets(s[0].Value))
	copyHist(nil, s[0].Value) // no histogram to copy into: nothing happens
	c := []uint64{7}
	copyHist(c, s[0].Value)
	assert.Equal(t, []uint64{7}, c, "a bad value leaves the counts alone")
}
