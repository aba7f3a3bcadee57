package monitor

import (
	"runtime/metrics"
	"slices"
)

// The runtime/metrics names the monitor reads, checked against `go doc
// runtime/metrics` for Go 1.26. A name the running toolchain does not know
// reads as metrics.KindBad and its figure is reported as unavailable.
const (
	metricSchedLatency = "/sched/latencies:seconds"
	metricGCPause      = "/sched/pauses/total/gc:seconds"
	metricGoroutines   = "/sched/goroutines:goroutines"
	metricRunnable     = "/sched/goroutines/runnable:goroutines" // new in Go 1.26
	metricMutexWait    = "/sync/mutex/wait/total:seconds"
	metricGOMAXPROCS   = "/sched/gomaxprocs:threads"
)

// reading is one read of the runtime's cumulative figures.
type reading struct {
	sched, gc  []uint64 // cumulative histogram counts; nil when unavailable
	goroutines int      // -1 when unavailable
	runnable   int      // -1 when unavailable
	procs      int
	mutexWait  float64 // cumulative seconds; -1 when unavailable
}

// source reads the runtime's figures. buckets is called once; read fills r,
// whose histogram slices have the lengths buckets implies (or are nil where
// buckets returned nil).
type source interface {
	buckets() (sched, gc []float64)
	read(r *reading)
}

// runtimeSource reads runtime/metrics.
type runtimeSource struct {
	samples     []metrics.Sample
	schedB, gcB []float64
}

const (
	iSched = iota
	iGC
	iGoroutines
	iRunnable
	iMutex
	iProcs
	nSamples
)

func newRuntimeSource() *runtimeSource {
	s := &runtimeSource{samples: make([]metrics.Sample, nSamples)}
	s.samples[iSched].Name = metricSchedLatency
	s.samples[iGC].Name = metricGCPause
	s.samples[iGoroutines].Name = metricGoroutines
	s.samples[iRunnable].Name = metricRunnable
	s.samples[iMutex].Name = metricMutexWait
	s.samples[iProcs].Name = metricGOMAXPROCS
	metrics.Read(s.samples)
	s.schedB = histBuckets(s.samples[iSched].Value)
	s.gcB = histBuckets(s.samples[iGC].Value)
	return s
}

// histBuckets returns a copy of a histogram's bucket bounds, or nil if v is
// not a histogram (the metric is unknown to this toolchain).
func histBuckets(v metrics.Value) []float64 {
	if v.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return slices.Clone(v.Float64Histogram().Buckets)
}

func (s *runtimeSource) buckets() (sched, gc []float64) { return s.schedB, s.gcB }

func (s *runtimeSource) read(r *reading) {
	metrics.Read(s.samples)
	copyHist(r.sched, s.samples[iSched].Value)
	copyHist(r.gc, s.samples[iGC].Value)
	r.goroutines = uintValue(s.samples[iGoroutines].Value)
	r.runnable = uintValue(s.samples[iRunnable].Value)
	r.procs = uintValue(s.samples[iProcs].Value)
	r.mutexWait = -1
	if v := s.samples[iMutex].Value; v.Kind() == metrics.KindFloat64 {
		r.mutexWait = v.Float64()
	}
}

// copyHist copies a histogram's counts into dst (nil when the metric is
// unavailable). The runtime may reuse its slices on the next Read.
func copyHist(dst []uint64, v metrics.Value) {
	if dst == nil || v.Kind() != metrics.KindFloat64Histogram {
		return
	}
	copy(dst, v.Float64Histogram().Counts)
}

// uintValue returns a KindUint64 metric's value, or -1 if it has another
// kind (KindBad: unknown to this toolchain).
func uintValue(v metrics.Value) int {
	if v.Kind() != metrics.KindUint64 {
		return -1
	}
	return int(min(v.Uint64(), 1<<62))
}
