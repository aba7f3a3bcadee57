package monitor

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSource is a runtime whose scheduler latency the test sets: each read
// adds 100 events to the bucket level selects. It has no GC-pause histogram
// and no runnable count, like an older toolchain.
type fakeSource struct {
	level atomic.Int32 // index into fakeSched's buckets
	mu    sync.Mutex
	sched []uint64
	reads atomic.Int64
}

// fakeSched's buckets: [0,1ms) low, [30ms,40ms) between RecoverAt (25ms) and
// OverloadAt (50ms), [40ms,100ms) high (its p99 is 99.4ms).
var fakeSched = []float64{0, 0.001, 0.030, 0.040, 0.100, math.Inf(1)}

const (
	levelLow  = 0
	levelMid  = 2
	levelHigh = 3
)

func newFake() *fakeSource { return &fakeSource{sched: make([]uint64, len(fakeSched)-1)} }

func (f *fakeSource) buckets() (sched, gc []float64) { return fakeSched, nil }

func (f *fakeSource) read(r *reading) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sched[f.level.Load()] += 100
	copy(r.sched, f.sched)
	r.goroutines, r.runnable, r.procs, r.mutexWait = 7, -1, 4, float64(f.reads.Add(1))
}

func withSource(s source) Option { return func(c *config) { c.src = s } }

func TestHysteresis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		m := Start(t.Context(), Interval(100*time.Millisecond), OverloadAt(50*time.Millisecond),
			Window(time.Second), withSource(src))
		defer m.Stop()
		step := func(level int32) bool {
			src.level.Store(level)
			time.Sleep(100 * time.Millisecond) // one interval: one reading
			synctest.Wait()
			return m.Overloaded()
		}
		assert.False(t, m.Overloaded(), "at start")
		assert.False(t, step(levelMid), "p99 39.9ms: below OverloadAt")
		assert.True(t, step(levelHigh), "p99 99.4ms: at or above OverloadAt")
		assert.True(t, step(levelMid), "39.9ms: still above RecoverAt, stays overloaded")
		assert.True(t, step(levelMid))
		assert.False(t, step(levelLow), "0.99ms: below RecoverAt")
		assert.False(t, step(levelMid), "39.9ms: below OverloadAt, stays recovered")
		assert.True(t, step(levelHigh))
		s := m.Snapshot()
		assert.True(t, s.Overloaded)
		assert.InDelta(t, float64(99400*time.Microsecond), float64(s.Lag), float64(time.Microsecond))
		assert.Equal(t, 7, s.Goroutines)
		assert.Equal(t, -1, s.Runnable, "unavailable metrics read as -1")
		assert.Equal(t, 4, s.CPUs)
		assert.Equal(t, Quantiles{}, s.GCPause, "no GC histogram: zero quantiles, no failure")
		assert.LessOrEqual(t, s.TimerLag.Max, time.Microsecond, "timers fire on time in a bubble: the lowest bucket")
		m.Stop()
		assert.False(t, m.Overloaded(), "a stopped monitor never sheds")
	})
}

func TestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		m := Start(t.Context(), Interval(100*time.Millisecond), Window(time.Second), withSource(src))
		defer m.Stop()
		src.level.Store(levelHigh)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		s := m.Snapshot()
		assert.Equal(t, 500*time.Millisecond, s.Window)
		// 5 readings of 100 events each, all in [40ms,100ms).
		assert.InDelta(t, float64(70*time.Millisecond), float64(s.SchedLatency.P50), float64(time.Microsecond))
		assert.Equal(t, 100*time.Millisecond, s.SchedLatency.Max)
		assert.InDelta(t, 10.0, s.MutexWait, 1e-9, "5 more seconds of wait in 0.5s")

		// After a whole window of low latency, the high readings are gone.
		src.level.Store(levelLow)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		s = m.Snapshot()
		assert.LessOrEqual(t, s.Window, 1100*time.Millisecond)
		assert.GreaterOrEqual(t, s.Window, time.Second)
		assert.Equal(t, time.Millisecond, s.SchedLatency.Max)
	})
}

// TestSaturation runs more spinning goroutines than there are CPUs until
// the monitor sees the scheduler latency rise. The spinners stop as soon as
// it does, or after a generous deadline.
func TestSaturation(t *testing.T) {
	if testing.Short() {
		t.Skip("spins the CPUs")
	}
	m := Start(t.Context(), Interval(20*time.Millisecond), OverloadAt(5*time.Millisecond))
	defer m.Stop()

	var stop atomic.Bool
	var wg sync.WaitGroup
	defer func() { stop.Store(true); wg.Wait() }()
	// Each spinner runs for its 10ms time slice and then waits for the
	// others: with 16 per CPU the wait is about 150ms, far above 5ms.
	for range 16 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !stop.Load() {
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for !m.Overloaded() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s := m.Snapshot()
	require.True(t, m.Overloaded(), "never overloaded: %+v", s)
	t.Logf("lag %v, sched p99 %v, timer lag p99 %v", s.Lag, s.SchedLatency.P99, s.TimerLag.P99)
}

func TestRuntimeSnapshot(t *testing.T) {
	m := Start(t.Context(), Interval(10*time.Millisecond))
	defer m.Stop()
	time.Sleep(50 * time.Millisecond)
	s := m.Snapshot()
	assert.Equal(t, runtime.GOMAXPROCS(0), s.CPUs)
	assert.Positive(t, s.Goroutines)
	assert.GreaterOrEqual(t, s.Runnable, -1)
	assert.GreaterOrEqual(t, s.MutexWait, 0.0)
	assert.LessOrEqual(t, s.SchedLatency.P50, s.SchedLatency.P99)
	assert.LessOrEqual(t, s.SchedLatency.P99, s.SchedLatency.Max)
	assert.False(t, s.Time.IsZero())
}

func TestStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := Start(ctx)
	cancel()
	m.Stop() // returns once the goroutine has, ctx or not
	m.Stop()
	assert.False(t, m.Overloaded())

	m = Start(context.Background())
	m.Stop()
}

func TestHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFake()
		m := Start(t.Context(), Interval(100*time.Millisecond), withSource(src))
		defer m.Stop()
		src.level.Store(levelHigh)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()

		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/weft/runtime", nil))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var got map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, true, got["overloaded"])
		assert.Equal(t, 4.0, got["cpus"])
		assert.Equal(t, -1.0, got["runnable_goroutines"])
		assert.InDelta(t, 0.1, got["sched_latency_seconds"].(map[string]any)["max"], 1e-9)
		assert.InDelta(t, 0.1, got["window_seconds"], 1e-9)
	})
}

func TestMisuse(t *testing.T) {
	assert.PanicsWithValue(t, "monitor: Window(0s): d must be positive", func() { Window(0) })
	assert.PanicsWithValue(t, "monitor: Interval(10µs): d must be at least 1ms", func() { Interval(10 * time.Microsecond) })
	assert.PanicsWithValue(t, "monitor: OverloadAt(-1ns): d must be positive", func() { OverloadAt(-1) })
	assert.PanicsWithValue(t, "monitor: RecoverAt(0s): d must be positive", func() { RecoverAt(0) })
	assert.PanicsWithValue(t, "monitor: RecoverAt(1s) exceeds OverloadAt(50ms)", func() {
		Start(context.Background(), RecoverAt(time.Second))
	})
	var nilCtx context.Context // the misuse under test
	assert.PanicsWithValue(t, "monitor: nil context", func() { Start(nilCtx) })
	var m Monitor
	const msg = "monitor: Monitor used without Start"
	assert.PanicsWithValue(t, msg, func() { m.Overloaded() })
	assert.PanicsWithValue(t, msg, func() { m.Snapshot() })
	assert.PanicsWithValue(t, msg, func() { m.Stop() })
	assert.PanicsWithValue(t, msg, func() { m.Handler() })
}

func TestNoAllocs(t *testing.T) {
	m := Start(t.Context())
	defer m.Stop()
	var sink bool
	assert.Zero(t, testing.AllocsPerRun(100, func() { sink = m.Overloaded() }))
	var s Snapshot
	assert.Zero(t, testing.AllocsPerRun(100, func() { s = m.Snapshot() }))
	_, _ = sink, s
}

// BenchmarkOverloaded is the cost of the signal a server reads for every
// request (the benchmark itself may well overload the process: both
// answers cost the same).
func BenchmarkOverloaded(b *testing.B) {
	m := Start(b.Context())
	defer m.Stop()
	var overloaded atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		n := int64(0)
		for pb.Next() {
			if m.Overloaded() {
				n++
			}
		}
		overloaded.Add(n)
	})
}

func BenchmarkSnapshot(b *testing.B) {
	m := Start(b.Context())
	defer m.Stop()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if m.Snapshot().CPUs == 0 {
				b.Error("no CPUs")
			}
		}
	})
}
