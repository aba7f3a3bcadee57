package monitor

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Option configures Start.
type Option func(*config)

type config struct {
	window     time.Duration
	interval   time.Duration
	overloadAt time.Duration
	recoverAt  time.Duration // 0: overloadAt/2
	src        source        // nil: the runtime; tests set their own
}

// Window sets the span the Snapshot's figures cover (default 10s): the
// quantiles are those of the events of about the last d. It panics if d is
// not positive.
func Window(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("monitor: Window(%v): d must be positive", d))
	}
	return func(c *config) { c.window = d }
}

// Interval sets how often the monitor reads runtime/metrics and decides
// whether the process is overloaded (default 100ms); the timer-lag probe
// fires ten times per interval. It panics if d is less than 1ms.
func Interval(d time.Duration) Option {
	if d < time.Millisecond {
		panic(fmt.Sprintf("monitor: Interval(%v): d must be at least 1ms", d))
	}
	return func(c *config) { c.interval = d }
}

// OverloadAt sets the lag at which the process counts as overloaded (default
// 50ms): Overloaded turns true at the end of an interval in which the 99th
// percentile of the scheduler latency, or the median timer lag, reached d.
// (The timer lag counts in by its median, so that one late wake-up, from a
// GC pause or a busy host, does not trip the signal, but a process whose
// every wake-up is late does.) It panics if d is not positive.
func OverloadAt(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("monitor: OverloadAt(%v): d must be positive", d))
	}
	return func(c *config) { c.overloadAt = d }
}

// RecoverAt sets the lag below which an overloaded process counts as
// recovered (default: half of OverloadAt): Overloaded turns false again at
// the end of an interval in which both figures were below d. The
// gap between the two thresholds keeps the signal from flapping at every
// interval when the lag hovers around one value. It panics if d is not
// positive; Start panics if d exceeds OverloadAt.
func RecoverAt(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("monitor: RecoverAt(%v): d must be positive", d))
	}
	return func(c *config) { c.recoverAt = d }
}

// Quantiles summarizes a distribution of durations.
type Quantiles struct {
	P50 time.Duration // the median
	P99 time.Duration // the 99th percentile
	Max time.Duration // an upper bound of the largest value, within its histogram bucket
}

// Snapshot is what a Monitor saw over its last window.
type Snapshot struct {
	// Time is when the figures were read.
	Time time.Time
	// Window is the span the distributions and rates cover: about the
	// Window option once the monitor has run that long, less before.
	Window time.Duration
	// SchedLatency is the time goroutines spent runnable, waiting for a
	// CPU, before they ran (/sched/latencies:seconds): Go's counterpart of
	// an event loop's lag.
	SchedLatency Quantiles
	// TimerLag is how late the monitor's periodic timer fired and its
	// goroutine ran, like Node's monitorEventLoopDelay.
	TimerLag Quantiles
	// GCPause is the distribution of the GC's stop-the-world pauses
	// (/sched/pauses/total/gc:seconds).
	GCPause Quantiles
	// Goroutines is the number of live goroutines, or -1 if the runtime
	// does not report it.
	Goroutines int
	// Runnable is the number of goroutines ready to run but not running, or
	// -1 if the runtime does not report it (before Go 1.26).
	Runnable int
	// MutexWait is the time goroutines spent blocked on sync.Mutex,
	// sync.RWMutex and runtime locks per second over the window (a rate
	// of 2 means two goroutines blocked on average), or -1 if the runtime
	// does not report it.
	MutexWait float64
	// CPUs is GOMAXPROCS, the number of goroutines that can run at once.
	CPUs int
	// Lag is the larger of the scheduler latency's 99th percentile and the
	// timer lag's median over the last interval: the value compared with
	// OverloadAt and RecoverAt.
	Lag time.Duration
	// Overloaded is the value of Overloaded when the figures were read.
	Overloaded bool
}

// Monitor samples the runtime in one goroutine; see the package doc. Its
// methods are safe for concurrent use. The zero value is not usable: create
// a Monitor with Start.
type Monitor struct {
	state  atomic.Int32 // stateNew, stateOK or stateOverloaded
	snap   atomic.Pointer[Snapshot]
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	stateNew = iota // not made by Start
	stateOK
	stateOverloaded
)

const (
	defaultWindow     = 10 * time.Second
	defaultInterval   = 100 * time.Millisecond
	defaultOverloadAt = 50 * time.Millisecond
	probesPerInterval = 10 // timer-lag probes per interval
	windowSlots       = 10 // readings kept per window
)

// Start starts a monitor that runs until ctx ends or Stop is called. The
// first Snapshot is available at once (with empty distributions); figures
// follow after each interval. Start panics if ctx is nil or if RecoverAt
// exceeds OverloadAt.
func Start(ctx context.Context, opts ...Option) *Monitor {
	if ctx == nil {
		panic("monitor: nil context")
	}
	c := config{window: defaultWindow, interval: defaultInterval, overloadAt: defaultOverloadAt}
	for _, o := range opts {
		o(&c)
	}
	if c.recoverAt == 0 {
		c.recoverAt = c.overloadAt / 2
	}
	if c.recoverAt > c.overloadAt {
		panic(fmt.Sprintf("monitor: RecoverAt(%v) exceeds OverloadAt(%v)", c.recoverAt, c.overloadAt))
	}
	if c.src == nil {
		c.src = newRuntimeSource()
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Monitor{cancel: cancel, done: make(chan struct{})}
	m.state.Store(stateOK)
	s := newSampler(c)
	m.snap.Store(s.snapshot(time.Now(), false))
	go m.run(ctx, s)
	return m
}

// Stop stops the monitor and waits for its goroutine to return. After Stop,
// Overloaded is false and Snapshot returns the last figures read. Stop may
// be called more than once.
func (m *Monitor) Stop() {
	if m.done == nil {
		panic("monitor: Monitor used without Start")
	}
	m.cancel()
	<-m.done
}

// Overloaded reports whether the last interval's lag reached OverloadAt and
// has not since fallen below RecoverAt. It is a single atomic load, cheap
// enough to call for every request.
func (m *Monitor) Overloaded() bool {
	switch m.state.Load() {
	case stateOverloaded:
		return true
	case stateNew:
		panic("monitor: Monitor used without Start")
	}
	return false
}

// Snapshot returns the figures of the last reading. It does not allocate.
func (m *Monitor) Snapshot() Snapshot {
	s := m.snap.Load()
	if s == nil {
		panic("monitor: Monitor used without Start")
	}
	return *s
}

func (m *Monitor) run(ctx context.Context, s *sampler) {
	defer close(m.done)
	defer m.state.Store(stateOK)
	period := s.cfg.interval / probesPerInterval
	t := time.NewTimer(period)
	defer t.Stop()
	start, lastRead := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		s.recordLag(now.Sub(start) - period)
		if now.Sub(lastRead) >= s.cfg.interval-period/2 {
			lastRead = now
			on := s.update(now, m.state.Load() == stateOverloaded)
			st := int32(stateOK)
			if on {
				st = stateOverloaded
			}
			m.state.Store(st)
			m.snap.Store(s.snapshot(now, on))
		}
		start = time.Now()
		t.Reset(period)
	}
}

// sampler holds the readings; only the monitor's goroutine uses it (and
// Start, before that goroutine exists).
type sampler struct {
	cfg            config
	schedB, gcB    []float64
	lagB           []float64
	lag            []uint64 // cumulative timer-lag counts, by the probe
	cur, prev      reading
	curLag, prvLag []uint64
	curAt          time.Time
	ring           []slot // the last windowSlots+1 readings, oldest at ring[head]
	head, n        int
	slotEvery      time.Duration
	lastPush       time.Time
	d              []uint64 // scratch for differences
	recent         time.Duration
}

// slot is a reading kept to measure the window against.
type slot struct {
	at  time.Time
	r   reading
	lag []uint64
}

// lagBuckets are the timer-lag histogram's bounds in seconds: 0, then four
// per power of two from 1µs to 64s (each bucket within 19% of its lower
// bound, as the runtime's own time histograms are), then +Inf.
var lagBuckets = func() []float64 {
	b := []float64{0}
	for d := time.Microsecond; d < 64*time.Second; d *= 2 {
		for i := range 4 {
			b = append(b, d.Seconds()*math.Pow(2, float64(i)/4))
		}
	}
	return append(b, (64 * time.Second).Seconds(), math.Inf(1))
}()

func newReading(schedB, gcB []float64) reading {
	return reading{sched: counts(schedB), gc: counts(gcB)}
}

// counts returns a count slice for a histogram with the bounds b, nil if b is.
func counts(b []float64) []uint64 {
	if b == nil {
		return nil
	}
	return make([]uint64, len(b)-1)
}

func newSampler(c config) *sampler {
	s := &sampler{cfg: c, lagB: lagBuckets}
	s.schedB, s.gcB = c.src.buckets()
	s.lag = counts(s.lagB)
	s.cur, s.prev = newReading(s.schedB, s.gcB), newReading(s.schedB, s.gcB)
	s.curLag, s.prvLag = counts(s.lagB), counts(s.lagB)
	n := max(len(s.schedB), len(s.gcB), len(s.lagB))
	s.d = make([]uint64, n)
	s.ring = make([]slot, windowSlots+1)
	for i := range s.ring {
		s.ring[i] = slot{r: newReading(s.schedB, s.gcB), lag: counts(s.lagB)}
	}
	s.slotEvery = max(c.window/windowSlots, c.interval)
	now := time.Now()
	c.src.read(&s.cur)
	s.curAt = now
	s.copyReading(&s.prev, s.prvLag, &s.cur, s.curLag)
	s.push(now)
	return s
}

// recordLag counts one timer-lag probe.
func (s *sampler) recordLag(lag time.Duration) {
	v := max(lag, 0).Seconds()
	for i := 1; i < len(s.lagB); i++ {
		if v < s.lagB[i] {
			s.lag[i-1]++
			return
		}
	}
}

// update reads the runtime, moves the window, and returns the new
// overloaded state given the old one.
func (s *sampler) update(now time.Time, on bool) bool {
	s.prev, s.cur = s.cur, s.prev
	s.prvLag, s.curLag = s.curLag, s.prvLag
	s.cfg.src.read(&s.cur)
	copy(s.curLag, s.lag)
	s.curAt = now

	s.recent = max(s.quantile(s.schedB, s.cur.sched, s.prev.sched, 0.99), s.quantile(s.lagB, s.curLag, s.prvLag, 0.5))
	if now.Sub(s.lastPush) >= s.slotEvery-s.cfg.interval/2 {
		s.push(now)
	}
	switch {
	case !on && s.recent >= s.cfg.overloadAt:
		return true
	case on && s.recent < s.cfg.recoverAt:
		return false
	}
	return on
}

// push keeps the current reading in the ring, in place of the oldest.
func (s *sampler) push(now time.Time) {
	i := (s.head + s.n) % len(s.ring)
	if s.n == len(s.ring) {
		i = s.head
		s.head = (s.head + 1) % len(s.ring)
	} else {
		s.n++
	}
	sl := &s.ring[i]
	sl.at = now
	s.copyReading(&sl.r, sl.lag, &s.cur, s.curLag)
	s.lastPush = now
}

func (s *sampler) copyReading(dst *reading, dstLag []uint64, src *reading, srcLag []uint64) {
	sched, gc := dst.sched, dst.gc
	*dst = *src
	dst.sched, dst.gc = sched, gc
	copy(dst.sched, src.sched)
	copy(dst.gc, src.gc)
	copy(dstLag, srcLag)
}

// quantile returns the q-quantile of the histogram a - b with bounds bk.
func (s *sampler) quantile(bk []float64, a, b []uint64, q float64) time.Duration {
	if bk == nil {
		return 0
	}
	d := s.d[:len(a)]
	sub(d, a, b)
	return seconds(quantile(bk, d, q))
}

// quantiles returns the quantiles of the histogram a - b with bounds bk.
func (s *sampler) quantiles(bk []float64, a, b []uint64) Quantiles {
	if bk == nil {
		return Quantiles{}
	}
	d := s.d[:len(a)]
	sub(d, a, b)
	return Quantiles{
		P50: seconds(quantile(bk, d, 0.5)),
		P99: seconds(quantile(bk, d, 0.99)),
		Max: seconds(maxValue(bk, d)),
	}
}

// snapshot returns the figures between the oldest kept reading and the
// current one.
func (s *sampler) snapshot(now time.Time, on bool) *Snapshot {
	old := &s.ring[s.head]
	span := s.curAt.Sub(old.at)
	snap := &Snapshot{
		Time:         now,
		Window:       span,
		SchedLatency: s.quantiles(s.schedB, s.cur.sched, old.r.sched),
		TimerLag:     s.quantiles(s.lagB, s.curLag, old.lag),
		GCPause:      s.quantiles(s.gcB, s.cur.gc, old.r.gc),
		Goroutines:   s.cur.goroutines,
		Runnable:     s.cur.runnable,
		MutexWait:    -1,
		CPUs:         s.cur.procs,
		Lag:          s.recent,
		Overloaded:   on,
	}
	if s.cur.mutexWait >= 0 && old.r.mutexWait >= 0 {
		snap.MutexWait = 0
		if span > 0 {
			snap.MutexWait = max(s.cur.mutexWait-old.r.mutexWait, 0) / span.Seconds()
		}
	}
	return snap
}

// seconds converts seconds to a Duration, saturating instead of overflowing.
func seconds(v float64) time.Duration {
	if v >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(v * float64(time.Second))
}
