package compare

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	resiliency "github.com/eapache/go-resiliency/breaker"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/sony/gobreaker/v2"

	"github.com/weftgo/weft/breaker"
)

// A closed breaker wrapping a trivial call, in four configurations:
//
//   - consecutive: trip after 5 consecutive failures (gobreaker's default
//     ReadyToTrip, failsafe WithFailureThreshold(5), go-resiliency New(5, ...)).
//   - window: a failure rate over the last 100 calls (failsafe
//     WithFailureThresholdRatio(50, 100); gobreaker has no count window, so
//     it judges the same rate over its cumulative Counts).
//   - timewindow: a failure rate over 10s in 10 buckets (gobreaker
//     Interval/BucketPeriod, failsafe WithFailureRateThreshold).
//   - slowcalls: timewindow plus weft's slow-call rate, which times every
//     call, against gobreaker's rolling window (no peer detects slow calls).
//
// floor is one atomic load plus the call: what any breaker must at least do.
// floorpanic (consecutive only) adds what a Do that counts a panic in the
// call must also do: defer a check, which keeps the function from being
// inlined.

var errBreakerFail = errors.New("fail")

// breakerFn is the trivial call. It is a variable so that no implementation
// can inline it.
var breakerFn = func(context.Context) error { return nil }

func breakerFnAny() (any, error) { return nil, breakerFn(context.Background()) }

// panicFloor calls fn if state is 0 and counts in panicked a call of fn
// that did not return: the floor of a Do that counts panics as failures.
func panicFloor(ctx context.Context, state *atomic.Uint32, panicked *atomic.Int64, fn func(context.Context) error) error {
	if state.Load() != 0 {
		return errBreakerFail
	}
	returned := false
	defer func() {
		if !returned {
			panicked.Add(1)
		}
	}()
	err := fn(ctx)
	returned = true
	return err
}

type breakerCase struct {
	name       string
	weft       []breaker.Option
	gobreaker  *gobreaker.Settings // nil: not measured
	failsafe   circuitbreaker.Builder[any]
	resiliency bool
}

func breakerCases() []breakerCase {
	rate := func(c gobreaker.Counts) bool { return c.Requests >= 20 && c.TotalFailures*2 >= c.Requests }
	return []breakerCase{
		{
			name:       "consecutive",
			weft:       []breaker.Option{breaker.ConsecutiveFailures(5)},
			gobreaker:  &gobreaker.Settings{ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }, Timeout: time.Minute},
			failsafe:   circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Minute),
			resiliency: true,
		},
		{
			name:      "window",
			weft:      []breaker.Option{breaker.FailureRate(0.5, breaker.Window(100), breaker.MinCalls(20))},
			gobreaker: &gobreaker.Settings{ReadyToTrip: rate, Timeout: time.Minute},
			failsafe:  circuitbreaker.NewBuilder[any]().WithFailureThresholdRatio(50, 100).WithDelay(time.Minute),
		},
		{
			name:      "timewindow",
			weft:      []breaker.Option{breaker.FailureRate(0.5, breaker.TimeWindow(10*time.Second, 10), breaker.MinCalls(20))},
			gobreaker: &gobreaker.Settings{ReadyToTrip: rate, Interval: 10 * time.Second, BucketPeriod: time.Second, Timeout: time.Minute},
			failsafe:  circuitbreaker.NewBuilder[any]().WithFailureRateThreshold(0.5, 20, 10*time.Second).WithDelay(time.Minute),
		},
		{
			name:      "slowcalls",
			weft:      []breaker.Option{breaker.FailureRate(0.5, breaker.TimeWindow(10*time.Second, 10), breaker.MinCalls(20)), breaker.SlowCalls(time.Second, 0.5)},
			gobreaker: &gobreaker.Settings{ReadyToTrip: rate, Interval: 10 * time.Second, BucketPeriod: time.Second, Timeout: time.Minute},
		},
	}
}

// BenchmarkBreakerDo calls a closed breaker from one goroutine.
func BenchmarkBreakerDo(b *testing.B) {
	ctx := context.Background()
	for _, c := range breakerCases() {
		b.Run(c.name+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			var state atomic.Uint32
			for b.Loop() {
				if state.Load() == 0 {
					_ = breakerFn(ctx)
				}
			}
		})
		if c.name == "consecutive" {
			b.Run(c.name+"/floorpanic", func(b *testing.B) {
				b.ReportAllocs()
				var state atomic.Uint32
				var panicked atomic.Int64
				for b.Loop() {
					_ = panicFloor(ctx, &state, &panicked, breakerFn)
				}
			})
		}
		b.Run(c.name+"/weft", func(b *testing.B) {
			b.ReportAllocs()
			br := breaker.New(c.weft...)
			for b.Loop() {
				_ = br.Do(ctx, breakerFn)
			}
		})
		if c.gobreaker != nil {
			b.Run(c.name+"/gobreaker", func(b *testing.B) {
				b.ReportAllocs()
				cb := gobreaker.NewCircuitBreaker[any](*c.gobreaker)
				for b.Loop() {
					_, _ = cb.Execute(breakerFnAny)
				}
			})
		}
		if c.failsafe != nil {
			b.Run(c.name+"/failsafe", func(b *testing.B) {
				b.ReportAllocs()
				cb := c.failsafe.Build()
				for b.Loop() {
					_ = failsafeDo(ctx, cb, breakerFn)
				}
			})
		}
		if c.resiliency {
			b.Run(c.name+"/resiliency", func(b *testing.B) {
				b.ReportAllocs()
				rb := resiliency.New(5, 1, time.Minute)
				for b.Loop() {
					_ = rb.Run(func() error { return breakerFn(ctx) })
				}
			})
		}
	}
}

// BenchmarkBreakerDoParallel calls a closed breaker from GOMAXPROCS
// goroutines at once.
func BenchmarkBreakerDoParallel(b *testing.B) {
	ctx := context.Background()
	for _, c := range breakerCases() {
		b.Run(c.name+"/floor", func(b *testing.B) {
			b.ReportAllocs()
			var state atomic.Uint32
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if state.Load() == 0 {
						_ = breakerFn(ctx)
					}
				}
			})
		})
		if c.name == "consecutive" {
			b.Run(c.name+"/floorpanic", func(b *testing.B) {
				b.ReportAllocs()
				var state atomic.Uint32
				var panicked atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = panicFloor(ctx, &state, &panicked, breakerFn)
					}
				})
			})
		}
		b.Run(c.name+"/weft", func(b *testing.B) {
			b.ReportAllocs()
			br := breaker.New(c.weft...)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					_ = br.Do(ctx, breakerFn)
				}
			})
		})
		if c.gobreaker != nil {
			b.Run(c.name+"/gobreaker", func(b *testing.B) {
				b.ReportAllocs()
				cb := gobreaker.NewCircuitBreaker[any](*c.gobreaker)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_, _ = cb.Execute(breakerFnAny)
					}
				})
			})
		}
		if c.failsafe != nil {
			b.Run(c.name+"/failsafe", func(b *testing.B) {
				b.ReportAllocs()
				cb := c.failsafe.Build()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = failsafeDo(ctx, cb, breakerFn)
					}
				})
			})
		}
		if c.resiliency {
			b.Run(c.name+"/resiliency", func(b *testing.B) {
				b.ReportAllocs()
				rb := resiliency.New(5, 1, time.Minute)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = rb.Run(func() error { return breakerFn(ctx) })
					}
				})
			})
		}
	}
}

// BenchmarkBreakerReject calls an open breaker (tripped by consecutive
// failures, open for an hour), from one goroutine and from GOMAXPROCS at
// once. floor is one atomic load and a sentinel error. weft loads the
// open period's error, inlined in the caller, and reads no clock (a timer
// ends the open time); like go-resiliency it counts nothing, since no one
// has called Stats (which starts the count of rejections).
func BenchmarkBreakerReject(b *testing.B) {
	ctx := context.Background()
	trip := func(do func(fn func(context.Context) error) error) {
		for range 5 {
			_ = do(func(context.Context) error { return errBreakerFail })
		}
	}
	br := breaker.New(breaker.ConsecutiveFailures(5), breaker.OpenFor(time.Hour))
	trip(func(fn func(context.Context) error) error { return br.Do(ctx, fn) })
	gb := gobreaker.NewCircuitBreaker[any](gobreaker.Settings{ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }, Timeout: time.Hour})
	trip(func(fn func(context.Context) error) error {
		_, err := gb.Execute(func() (any, error) { return nil, fn(ctx) })
		return err
	})
	fs := circuitbreaker.NewBuilder[any]().WithFailureThreshold(5).WithDelay(time.Hour).Build()
	trip(func(fn func(context.Context) error) error { return failsafeDo(ctx, fs, fn) })
	rb := resiliency.New(5, 1, time.Hour)
	trip(func(fn func(context.Context) error) error { return rb.Run(func() error { return fn(ctx) }) })
	var state atomic.Uint32
	state.Store(1)
	impls := []struct {
		name string
		do   func()
	}{
		{"floor", func() {
			if state.Load() != 0 {
				return
			}
			_ = breakerFn(ctx)
		}},
		{"weft", func() { _ = br.Do(ctx, breakerFn) }},
		{"gobreaker", func() { _, _ = gb.Execute(breakerFnAny) }},
		{"failsafe", func() { _ = failsafeDo(ctx, fs, breakerFn) }},
		{"resiliency", func() { _ = rb.Run(func() error { return breakerFn(ctx) }) }},
	}
	for _, im := range impls {
		b.Run("single/"+im.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				im.do()
			}
		})
		b.Run("parallel/"+im.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					im.do()
				}
			})
		})
	}
}

// failsafeDo uses a failsafe-go circuit breaker directly, without an
// executor: acquire a permit, call, record.
func failsafeDo(ctx context.Context, cb circuitbreaker.CircuitBreaker[any], fn func(context.Context) error) error {
	if !cb.TryAcquirePermit() {
		return circuitbreaker.ErrOpen
	}
	err := fn(ctx)
	cb.RecordError(err)
	return err
}

// TestBreakerDoAgree checks that, in every configuration, weft and each peer
// let 100 successes through, then open within the same number of failures
// where their trip conditions are the same (all but gobreaker's cumulative
// rate), and then reject calls without running them.
func TestBreakerDoAgree(t *testing.T) {
	ctx := context.Background()
	type impl struct {
		name      string
		do        func(fn func(context.Context) error) error
		isOpen    func(error) bool
		wantTrips int // failures needed to open; 0: any number up to 200
	}
	for _, c := range breakerCases() {
		br := breaker.New(c.weft...)
		trips := map[string]int{"consecutive": 5, "window": 50, "timewindow": 0, "slowcalls": 0}[c.name]
		impls := []impl{{
			name:      "weft",
			do:        func(fn func(context.Context) error) error { return br.Do(ctx, fn) },
			isOpen:    func(err error) bool { return errors.Is(err, breaker.ErrOpen) },
			wantTrips: trips,
		}}
		if c.gobreaker != nil {
			cb := gobreaker.NewCircuitBreaker[any](*c.gobreaker)
			gbTrips := 0
			if c.name == "consecutive" {
				gbTrips = trips
			}
			impls = append(impls, impl{
				name: "gobreaker",
				do: func(fn func(context.Context) error) error {
					_, err := cb.Execute(func() (any, error) { return nil, fn(ctx) })
					return err
				},
				isOpen:    func(err error) bool { return errors.Is(err, gobreaker.ErrOpenState) },
				wantTrips: gbTrips,
			})
		}
		if c.failsafe != nil {
			cb := c.failsafe.Build()
			impls = append(impls, impl{
				name:      "failsafe",
				do:        func(fn func(context.Context) error) error { return failsafeDo(ctx, cb, fn) },
				isOpen:    func(err error) bool { return errors.Is(err, circuitbreaker.ErrOpen) },
				wantTrips: trips,
			})
		}
		if c.resiliency {
			rb := resiliency.New(5, 1, time.Minute)
			impls = append(impls, impl{
				name:      "resiliency",
				do:        func(fn func(context.Context) error) error { return rb.Run(func() error { return fn(ctx) }) },
				isOpen:    func(err error) bool { return errors.Is(err, resiliency.ErrBreakerOpen) },
				wantTrips: trips,
			})
		}
		for _, im := range impls {
			ran := 0
			for range 100 {
				if err := im.do(func(context.Context) error { ran++; return nil }); err != nil {
					t.Fatalf("%s/%s: success returned %v", c.name, im.name, err)
				}
			}
			failures := 0
			for failures < 200 {
				err := im.do(func(context.Context) error { ran++; return errBreakerFail })
				if im.isOpen(err) {
					break
				}
				failures++
			}
			if failures == 200 || im.wantTrips > 0 && failures != im.wantTrips {
				t.Errorf("%s/%s: opened after %d failures, want %d", c.name, im.name, failures, im.wantTrips)
			}
			before := ran
			if err := im.do(func(context.Context) error { ran++; return nil }); !im.isOpen(err) || ran != before {
				t.Errorf("%s/%s: open breaker returned %v and ran the call: %v", c.name, im.name, err, ran != before)
			}
		}
	}
}
