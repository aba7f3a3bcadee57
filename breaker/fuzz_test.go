package breaker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgo/weft/breaker"
)

// model is a sequential reference implementation of the breaker's state
// machine, written for clarity rather than speed: it keeps every counted
// call and recomputes the window from scratch.
type model struct {
	consecutive  int
	failRate     float64
	slowAfter    time.Duration
	slowRate     float64
	n            int           // Window(n), or 0
	bucket       time.Duration // TimeWindow bucket, or 0
	buckets      int
	minCalls     int
	openFor, max time.Duration
	probes       int

	state      breaker.State
	forced     bool
	run        int
	recs       []rec
	closedAt   time.Duration
	openUntil  time.Duration
	openDur    time.Duration
	succeeded  int
	slowProbes int
	rejected   uint64
	// Cumulative counts: failed and slow calls, transitions into each state.
	failed, slowCalls uint64
	entered           [3]uint64
	// ok counts successes once counting (from New with Window(n), else
	// from the first Stats call); ignored counts ignored calls.
	ok, ignored uint64
	counting    bool
}

type rec struct {
	at         time.Duration
	fail, slow bool
}

func (m *model) rates() bool { return m.failRate > 0 || m.slowRate > 0 }

// window returns the calls, failures and slow calls in the window at now.
func (m *model) window(now time.Duration) (calls, fails, slows int) {
	in := m.recs
	if m.n > 0 {
		in = in[max(0, len(in)-m.n):]
	} else {
		cur := (now - m.closedAt) / m.bucket
		var kept []rec
		for _, r := range in {
			if cur-(r.at-m.closedAt)/m.bucket < time.Duration(m.buckets) {
				kept = append(kept, r)
			}
		}
		in = kept
	}
	for _, r := range in {
		calls++
		if r.fail {
			fails++
		}
		if r.slow {
			slows++
		}
	}
	return calls, fails, slows
}

// tick applies the passage of time up to now: Open becomes HalfOpen.
func (m *model) tick(now time.Duration) {
	if m.state == breaker.Open && !m.forced && now >= m.openUntil {
		m.state, m.succeeded, m.slowProbes = breaker.HalfOpen, 0, 0
		m.entered[breaker.HalfOpen]++
	}
}

func (m *model) open(now time.Duration) {
	if m.state != breaker.Open {
		m.entered[breaker.Open]++
	}
	m.state, m.succeeded, m.slowProbes = breaker.Open, 0, 0
	m.openUntil = now + m.openDur
}

func (m *model) close(now time.Duration) {
	if m.state != breaker.Closed {
		m.entered[breaker.Closed]++
	}
	m.state, m.forced, m.run, m.recs, m.closedAt = breaker.Closed, false, 0, nil, now
	m.succeeded, m.slowProbes = 0, 0
}

// admit reports whether a call starting at now is let through, and the Wait
// of the rejection if not.
func (m *model) admit(now time.Duration) (bool, time.Duration) {
	m.tick(now)
	if m.state != breaker.Open {
		return true, 0
	}
	m.rejected++
	if m.forced {
		return false, m.openFor
	}
	return false, m.openUntil - now
}

// finish counts a call that took d and ended at now with outcome o.
func (m *model) finish(now, d time.Duration, o breaker.Outcome) {
	if o == breaker.Ignore {
		m.ignored++
		return
	}
	if o == breaker.Success && m.counting {
		m.ok++
	}
	fail := o == breaker.Failure
	slow := m.slowAfter > 0 && d > m.slowAfter
	if fail {
		m.failed++
	}
	if slow {
		m.slowCalls++
	}
	switch m.state {
	case breaker.Closed:
		if fail {
			m.run++
		} else {
			m.run = 0
		}
		trip := m.consecutive > 0 && m.run >= m.consecutive
		if m.rates() {
			m.recs = append(m.recs, rec{now, fail, slow})
			calls, fails, slows := m.window(now)
			c := float64(calls)
			trip = trip ||
				m.failRate > 0 && calls >= m.minCalls && float64(fails) >= m.failRate*c ||
				m.slowRate > 0 && calls >= m.minCalls && float64(slows) >= m.slowRate*c
		}
		if trip && (fail || slow) {
			m.openDur = m.openFor
			m.open(now)
		}
	case breaker.HalfOpen:
		if fail {
			m.reopen(now)
			return
		}
		m.succeeded++
		if slow {
			m.slowProbes++
		}
		if m.succeeded < m.probes {
			return
		}
		if m.slowRate > 0 && float64(m.slowProbes) >= m.slowRate*float64(m.succeeded) {
			m.reopen(now)
		} else {
			m.close(now)
		}
	}
}

func (m *model) reopen(now time.Duration) {
	if m.max > 0 {
		m.openDur = min(2*m.openDur, m.max)
	}
	m.open(now)
}

func (m *model) stats(now time.Duration) breaker.Stats {
	m.tick(now)
	s := breaker.Stats{State: m.state, ConsecutiveFailures: m.run, Rejected: m.rejected,
		Failed: m.failed, SlowCalls: m.slowCalls, Opened: m.entered[breaker.Open],
		HalfOpened: m.entered[breaker.HalfOpen], Reclosed: m.entered[breaker.Closed],
		Succeeded: m.ok, Ignored: m.ignored}
	m.counting = true // Stats starts the count of successes
	switch {
	case m.state == breaker.HalfOpen:
		s.Calls, s.Slow = m.succeeded, m.slowProbes
	case m.rates():
		s.Calls, s.Failures, s.Slow = m.window(now)
	}
	return s
}

// pick returns the next byte of data, or 0 once it is used up.
func pick(data *[]byte) int {
	if len(*data) == 0 {
		return 0
	}
	b := (*data)[0]
	*data = (*data)[1:]
	return int(b)
}

// FuzzModel runs random sequences of fast and slow successes, failures,
// ignored calls, time steps, Reset and ForceOpen against a breaker built
// from random options, and checks its Stats and every admission decision
// against the sequential reference model after each step.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 1, 1, 1, 1, 1, 6, 6, 0, 0, 6, 0, 1})
	f.Add([]byte{7, 3, 9, 2, 1, 3, 3, 3, 6, 6, 6, 6, 0, 0, 0, 2, 2, 6, 3, 3, 6, 0, 2})
	f.Add([]byte{2, 0, 5, 1, 2, 2, 0, 1, 1, 6, 5, 1, 6, 6, 6, 6, 6, 1, 0, 0})
	f.Add([]byte{255, 255, 255, 1, 1, 1, 1, 2, 2, 2, 5, 1, 1, 6, 6, 6, 0, 0, 0, 7, 0, 8, 0, 1})
	long := []byte{0, 0, 0, 210, 7, 10}
	for i := range 600 {
		long = append(long, []byte{0, 0, 0, 1, 0, 1, 1, 4, 0, 2}[i*7%10])
	}
	f.Add(long)
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runModel(t, data) })
	})
}

func runModel(t *testing.T, data []byte) {
	m := &model{probes: 1 + pick(&data)%3}
	m.openFor = time.Duration(1+pick(&data)%3) * time.Second
	m.openDur = m.openFor
	opts := []breaker.Option{breaker.OpenFor(m.openFor), breaker.HalfOpenProbes(m.probes)}
	if c := pick(&data); c%2 == 1 {
		m.max = m.openFor * time.Duration(1+c%5)
		opts = append(opts, breaker.OpenBackoff(m.max))
	}
	var win breaker.RateOption
	if c := pick(&data); c%2 == 0 {
		m.n = 1 + c%8
		if c >= 200 { // a window spanning several words of the bit rings
			m.n = 60 + c%80
		}
		win = breaker.Window(m.n)
		m.minCalls = 1 + pick(&data)%m.n
	} else {
		m.buckets, m.bucket = 1+c%4, time.Duration(1+pick(&data)%3)*100*time.Millisecond
		win = breaker.TimeWindow(m.bucket*time.Duration(m.buckets), m.buckets)
		m.minCalls = 1 + pick(&data)%5
	}
	ratios := []float64{0.25, 0.5, 2.0 / 3, 1}
	c := pick(&data)
	if c&1 != 0 {
		m.consecutive = 1 + (c>>1)%4
		opts = append(opts, breaker.ConsecutiveFailures(m.consecutive))
	}
	if c&2 != 0 || c&1 == 0 && c&4 == 0 {
		m.failRate = ratios[(c>>3)%4]
		opts = append(opts, breaker.FailureRate(m.failRate, win, breaker.MinCalls(m.minCalls)))
	}
	if c&4 != 0 {
		m.slowAfter, m.slowRate = time.Second, ratios[(c>>5)%4]
		opts = append(opts, breaker.SlowCalls(m.slowAfter, m.slowRate, win, breaker.MinCalls(m.minCalls)))
	}
	b := breaker.New(opts...)
	m.counting = m.n > 0 && m.rates() // a Window(n) counts successes from New
	start := time.Now()
	now := func() time.Duration { return time.Since(start) }

	for step := 0; len(data) > 0; step++ {
		op := pick(&data)
		switch op % 9 {
		case 5: // time passes
			time.Sleep(time.Duration(1+op/9%8) * 150 * time.Millisecond)
			synctest.Wait() // the breaker's timer may have fired at this instant
		case 6:
			b.Reset()
			m.openDur = m.openFor
			m.close(now())
		case 7:
			if op/9%4 == 0 { // keep forced opens rare enough to see the rest
				b.ForceOpen()
				m.forced = true
				m.open(now())
			}
		default: // a call: 0 success, 1 failure, 2 slow success, 3 slow failure, 4 and 8 ignored
			var err error
			var d time.Duration
			o := breaker.Success
			switch op % 9 {
			case 1, 3:
				err, o = errBoom, breaker.Failure
			case 4, 8:
				err, o = context.Canceled, breaker.Ignore
			}
			if op%9 == 2 || op%9 == 3 {
				d = 2 * time.Second
			}
			wantRun, wantWait := m.admit(now())
			ran := false
			got := b.Do(context.Background(), func(context.Context) error {
				ran = true
				time.Sleep(d)
				return err
			})
			if ran != wantRun {
				t.Fatalf("step %d (op %d): ran = %v, model says %v; stats %+v", step, op, ran, wantRun, b.Stats())
			}
			if !ran {
				var oe *breaker.OpenError
				if !errors.As(got, &oe) || oe.RetryAfter() != wantWait {
					t.Fatalf("step %d: rejected with %v, want RetryAfter %v", step, got, wantWait)
				}
				continue
			}
			m.finish(now(), d, o)
		}
		if got, want := b.Stats(), m.stats(now()); got != want {
			t.Fatalf("step %d (op %d) at %v: Stats = %+v, model says %+v", step, op, now(), got, want)
		}
	}
}
