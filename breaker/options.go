package breaker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An Option configures a Breaker. An option given an invalid value panics
// at once, naming the option and the value; New panics when two options
// contradict each other.
type Option func(*config)

// A RateOption configures a failure-rate or slow-call-rate condition: the
// window the rate is computed over (Window or TimeWindow) and the number of
// calls the window must hold before the rate is judged (MinCalls).
type RateOption func(*rateConfig)

// Outcome is how a call's result counts toward the breaker's state.
type Outcome int

const (
	// Success counts the call as a success.
	Success Outcome = iota
	// Failure counts the call as a failure.
	Failure
	// Ignore leaves the call out of every count, as if it had not been made.
	// An ignored half-open probe gives its probe slot back.
	Ignore
)

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// window describes the calls a rate is computed over: the last n calls, or
// the calls of the last span split into buckets.
type window struct {
	n       int
	span    time.Duration
	buckets int
}

func (w window) String() string {
	if w.n > 0 {
		return fmt.Sprintf("Window(%d)", w.n)
	}
	return fmt.Sprintf("TimeWindow(%v, %d)", w.span, w.buckets)
}

type rateConfig struct {
	win      window // zero: not given
	minCalls int    // zero: not given
}

type config struct {
	consecutive int           // trip after this many consecutive failures; 0: off
	failRate    float64       // trip at this failure rate; 0: off
	failMin     int           // MinCalls of the failure rate
	slowAfter   time.Duration // a call slower than this is slow; 0: off
	slowRate    float64       // trip at this slow-call rate
	slowMin     int           // MinCalls of the slow-call rate
	win         window        // the rate window shared by both rates
	slowWin     window        // SlowCalls' window, reconciled with win by New
	openFor     time.Duration
	openMax     time.Duration // OpenBackoff's max; 0: no backoff
	probes      int
	classify    func(error) Outcome
	onChange    func(from, to State)
}

// Defaults used by New when an option is not given.
const (
	defaultConsecutive = 5
	defaultOpenFor     = 60 * time.Second
	defaultWindow      = 100
	defaultMinCalls    = 20
)

// ConsecutiveFailures trips the breaker when n calls in a row have failed in
// the Closed state. A success resets the run; ignored calls neither extend
// nor reset it, and nothing else (time in particular) does. When no trip
// condition is given, New uses ConsecutiveFailures(5). It panics if n < 1.
func ConsecutiveFailures(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("breaker: ConsecutiveFailures(%d): n must be at least 1", n))
	}
	return func(c *config) { c.consecutive = n }
}

// FailureRate trips the breaker when the share of failed calls in the window
// reaches ratio, once the window holds at least MinCalls calls. The window is
// given by Window or TimeWindow among opts (Window(100) when neither is);
// MinCalls defaults to 20, or to n for a Window(n) with n < 20. It panics if
// ratio is outside (0, 1].
func FailureRate(ratio float64, opts ...RateOption) Option {
	checkRatio("FailureRate", ratio)
	rc := newRateConfig(opts)
	return func(c *config) {
		c.failRate, c.failMin, c.win = ratio, rc.minCalls, rc.win
	}
}

// SlowCalls counts a call that takes longer than threshold as slow (whatever
// its outcome; ignored calls excepted), and trips the breaker when the share
// of slow calls in the window reaches ratio, once the window holds at least
// MinCalls calls. In the HalfOpen state, the probes close the breaker only
// if their share of slow calls is below ratio. The window is shared with
// FailureRate: opts may repeat FailureRate's window or leave it out, and
// defaults to Window(100) when neither names one. It panics if threshold is
// not positive or ratio is outside (0, 1].
func SlowCalls(threshold time.Duration, ratio float64, opts ...RateOption) Option {
	if threshold <= 0 {
		panic(fmt.Sprintf("breaker: SlowCalls(%v, %v): threshold must be positive", threshold, ratio))
	}
	checkRatio("SlowCalls", ratio)
	rc := newRateConfig(opts)
	return func(c *config) {
		c.slowAfter, c.slowRate, c.slowMin, c.slowWin = threshold, ratio, rc.minCalls, rc.win
	}
}

func checkRatio(name string, ratio float64) {
	if !(ratio > 0 && ratio <= 1) { // also rejects NaN
		panic(fmt.Sprintf("breaker: %s(%v): ratio must be in (0, 1]", name, ratio))
	}
}

// newRateConfig applies opts.
func newRateConfig(opts []RateOption) rateConfig {
	var rc rateConfig
	for _, o := range opts {
		o(&rc)
	}
	return rc
}

// Window makes a rate count the last n calls. It panics if n < 1.
func Window(n int) RateOption {
	if n < 1 {
		panic(fmt.Sprintf("breaker: Window(%d): n must be at least 1", n))
	}
	return func(rc *rateConfig) { rc.win = window{n: n} }
}

// TimeWindow makes a rate count the calls of the last d, kept in buckets
// rolling buckets of d/buckets each: the window spans the current bucket and
// the buckets-1 before it. Buckets start when the breaker closes. It panics
// if d is not positive, buckets < 1, or d/buckets is zero.
func TimeWindow(d time.Duration, buckets int) RateOption {
	if d <= 0 || buckets < 1 || d/time.Duration(buckets) == 0 {
		panic(fmt.Sprintf("breaker: TimeWindow(%v, %d): d must be positive and hold buckets >= 1 buckets of at least 1ns", d, buckets))
	}
	return func(rc *rateConfig) { rc.win = window{span: d, buckets: buckets} }
}

// MinCalls makes a rate wait until the window holds at least m calls before
// it can trip the breaker. It panics if m < 1, and New panics if m exceeds
// the n of a Window(n).
func MinCalls(m int) RateOption {
	if m < 1 {
		panic(fmt.Sprintf("breaker: MinCalls(%d): m must be at least 1", m))
	}
	return func(rc *rateConfig) { rc.minCalls = m }
}

// OpenFor sets how long the breaker stays Open before it lets probes through
// (HalfOpen); the default is 60s. Zero means probes are allowed at once. It
// panics if d is negative.
//
// A timer ends the Open period one nanosecond before d has passed, so that a
// caller that sleeps d after the breaker opened (in a synctest bubble, where
// both wake at the same instant) always finds it HalfOpen.
func OpenFor(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("breaker: OpenFor(%v): d must not be negative", d))
	}
	return func(c *config) { c.openFor = d }
}

// OpenBackoff doubles the open time each time the breaker reopens from
// HalfOpen without having closed in between, up to max; closing resets it
// to OpenFor. New panics if max is less than OpenFor's duration.
func OpenBackoff(max time.Duration) Option {
	if max <= 0 {
		panic(fmt.Sprintf("breaker: OpenBackoff(%v): max must be positive", max))
	}
	return func(c *config) { c.openMax = max }
}

// HalfOpenProbes sets how many trial calls the breaker lets through in the
// HalfOpen state (default 1). It closes once all n have succeeded, and
// reopens as soon as one fails; other calls meanwhile get an error wrapping
// ErrOpen. It panics if n < 1.
func HalfOpenProbes(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("breaker: HalfOpenProbes(%d): n must be at least 1", n))
	}
	return func(c *config) { c.probes = n }
}

// Classify sets how a call's error counts. The default counts nil as
// Success, an error matching context.Canceled as Ignore (the caller gave up;
// the dependency did not fail), and every other error as Failure. fn must be
// safe for concurrent use. It panics if fn is nil.
func Classify(fn func(error) Outcome) Option {
	if fn == nil {
		panic("breaker: Classify(nil): fn must not be nil")
	}
	return func(c *config) { c.classify = fn }
}

// IsFailure is Classify for the common case: nil is Success, an error
// matching context.Canceled is Ignore, and any other error is Failure when
// fn reports true and Success otherwise. It panics if fn is nil.
func IsFailure(fn func(error) bool) Option {
	if fn == nil {
		panic("breaker: IsFailure(nil): fn must not be nil")
	}
	return Classify(func(err error) Outcome {
		switch {
		case err == nil:
			return Success
		case errors.Is(err, context.Canceled):
			return Ignore
		case fn(err):
			return Failure
		}
		return Success
	})
}

// OnStateChange registers fn to be called once for every state transition,
// in the order the transitions happened, as they happen: the change from
// Open to HalfOpen is reported when the open time ends, from the goroutine
// of the breaker's timer. fn is never called while the breaker holds a
// lock, so it may call the breaker's methods. Calls to fn never overlap, so
// a transition may be reported by another goroutine that is still
// delivering an earlier one (the timer's, say), after the call that caused
// it has returned. It panics if fn is nil.
func OnStateChange(fn func(from, to State)) Option {
	if fn == nil {
		panic("breaker: OnStateChange(nil): fn must not be nil")
	}
	return func(c *config) { c.onChange = fn }
}

// newConfig applies opts to the defaults and checks what single options
// cannot check on their own.
func newConfig(opts []Option) config {
	c := config{openFor: defaultOpenFor, probes: 1}
	for _, o := range opts {
		o(&c)
	}
	if c.consecutive == 0 && c.failRate == 0 && c.slowRate == 0 {
		c.consecutive = defaultConsecutive
	}
	switch {
	case c.slowWin == window{}:
	case c.win == window{} || c.failRate == 0:
		c.win = c.slowWin
	case c.win != c.slowWin:
		panic(fmt.Sprintf("breaker: SlowCalls: %v differs from FailureRate's window, %v; both rates share one window", c.slowWin, c.win))
	}
	if c.failRate > 0 || c.slowRate > 0 {
		if c.win == (window{}) {
			c.win = window{n: defaultWindow}
		}
		def := defaultMinCalls
		if c.win.n > 0 {
			def = min(def, c.win.n)
		}
		for _, m := range []*int{&c.failMin, &c.slowMin} {
			if *m == 0 {
				*m = def
			}
			if c.win.n > 0 && *m > c.win.n {
				panic(fmt.Sprintf("breaker: MinCalls(%d): m must not exceed the window's n (%v)", *m, c.win))
			}
		}
	}
	if c.openMax > 0 && c.openMax < c.openFor {
		panic(fmt.Sprintf("breaker: OpenBackoff(%v): max must be at least OpenFor (%v)", c.openMax, c.openFor))
	}
	return c
}
