package weftotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/group"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/weftotel"
)

var errBoom = errors.New("boom")

func TestBreakerTrip(t *testing.T) {
	r := newReader(t)
	b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Hour))
	reg, err := weftotel.Breaker(r.mp.Meter("test"), "payments", b)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ctx := context.Background()
	fail := func(context.Context) error { return errBoom }
	ok := func(context.Context) error { return nil }

	_ = b.Do(ctx, ok)
	check(t, r.collect(), "payments", []want{
		{"weft.breaker.state", []attribute.KeyValue{state("closed")}, 1},
		{"weft.breaker.state", []attribute.KeyValue{state("open")}, 0},
		{"weft.breaker.state", []attribute.KeyValue{state("half_open")}, 0},
		{"weft.breaker.calls", []attribute.KeyValue{outcome("rejected")}, 0},
	})

	_ = b.Do(ctx, fail)
	check(t, r.collect(), "payments", []want{
		{"weft.breaker.consecutive_failures", nil, 1},
	})
	_ = b.Do(ctx, fail) // trips
	for range 3 {
		if err := b.Do(ctx, ok); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("Do on an open breaker = %v, want ErrOpen", err)
		}
	}
	check(t, r.collect(), "payments", []want{
		{"weft.breaker.state", []attribute.KeyValue{state("closed")}, 0},
		{"weft.breaker.state", []attribute.KeyValue{state("open")}, 1},
		{"weft.breaker.calls", []attribute.KeyValue{outcome("rejected")}, 3},
		{"weft.breaker.calls", []attribute.KeyValue{outcome("failure")}, 2},
		{"weft.breaker.transitions", []attribute.KeyValue{state("open")}, 1},
		{"weft.breaker.transitions", []attribute.KeyValue{state("half_open")}, 0},
		{"weft.breaker.transitions", []attribute.KeyValue{state("closed")}, 0},
	})
}

func TestBulkheadFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader(t)
		bh := limiter.NewBulkhead(1, 1)
		reg, err := weftotel.Bulkhead(r.mp.Meter("test"), "uploads", bh)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		ctx := context.Background()
		release := make(chan struct{})
		block := func(context.Context) error { <-release; return nil }
		done := make(chan error, 2)
		go func() { done <- bh.Do(ctx, block) }() // runs
		synctest.Wait()
		go func() { done <- bh.Do(ctx, block) }() // queues
		synctest.Wait()
		for range 2 {
			if err := bh.Do(ctx, block); !errors.Is(err, limiter.ErrFull) {
				t.Fatalf("Do on a full bulkhead = %v, want ErrFull", err)
			}
		}
		check(t, r.collect(), "uploads", []want{
			{"weft.bulkhead.running", nil, 1},
			{"weft.bulkhead.queued", nil, 1},
			{"weft.bulkhead.calls", []attribute.KeyValue{outcome("rejected")}, 2},
			{"weft.bulkhead.calls", []attribute.KeyValue{outcome("completed")}, 0},
		})
		close(release)
		for range 2 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		check(t, r.collect(), "uploads", []want{
			{"weft.bulkhead.running", nil, 0},
			{"weft.bulkhead.queued", nil, 0},
			{"weft.bulkhead.calls", []attribute.KeyValue{outcome("completed")}, 2},
			{"weft.bulkhead.calls", []attribute.KeyValue{outcome("cancelled")}, 0},
			{"weft.bulkhead.waits", nil, 1},
			{"weft.bulkhead.queue.duration", []attribute.KeyValue{outcome("admitted")}, 1}, // a histogram's count
		})
	})
}

func TestSemaphoreAndAdaptive(t *testing.T) {
	r := newReader(t)
	m := r.mp.Meter("test")
	s := limiter.NewSemaphore(5)
	reg, err := weftotel.Semaphore(m, "conns", s)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	a := limiter.NewAdaptive(limiter.InitialLimit(7))
	reg2, err := weftotel.Adaptive(m, "backend", a)
	if err != nil {
		t.Fatal(err)
	}
	defer reg2.Unregister()
	if !s.TryAcquire(3) {
		t.Fatal("TryAcquire(3) failed")
	}
	done, err := a.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	failed, err := a.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	failed(errBoom) // records a call and backs the limit off
	ms := r.collect()
	check(t, ms, "conns", []want{
		{"weft.semaphore.limit", nil, 5},
		{"weft.semaphore.held", nil, 3},
		{"weft.semaphore.waiters", nil, 0},
	})
	check(t, ms, "backend", []want{
		{"weft.adaptive.limit", nil, float64(a.Limit())},
		{"weft.adaptive.held", nil, 1},
		{"weft.adaptive.limit.changes", []attribute.KeyValue{weftotel.DirectionKey.String("down")}, 1},
		{"weft.adaptive.call.duration", []attribute.KeyValue{outcome("failure")}, 1},
	})
	done(nil)
	s.Release(3)
}

func TestKeyed(t *testing.T) {
	r := newReader(t)
	k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(1, 1) })
	reg, err := weftotel.Keyed(r.mp.Meter("test"), "users", k)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	k.Allow("a")
	k.Allow("b")
	k.Allow("a") // refused
	check(t, r.collect(), "users", []want{
		{"weft.keyed.keys", nil, 2},
		{"weft.keyed.events", []attribute.KeyValue{outcome("admitted")}, 2},
		{"weft.keyed.events", []attribute.KeyValue{outcome("rejected")}, 1},
		{"weft.keyed.evictions", []attribute.KeyValue{weftotel.ReasonKey.String("capacity")}, 0},
	})
}

func TestRate(t *testing.T) {
	r := newReader(t)
	rl := limiter.NewRate(1, 2)
	rl.Allow() // before registration: not counted
	reg, err := weftotel.Rate(r.mp.Meter("test"), "api", rl)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	rl.Allow()
	rl.Allow() // refused
	rl.AllowN(2)
	check(t, r.collect(), "api", []want{
		{"weft.rate.events", []attribute.KeyValue{outcome("admitted")}, 1},
		{"weft.rate.events", []attribute.KeyValue{outcome("rejected")}, 3},
	})
}

func TestGroup(t *testing.T) {
	r := newReader(t)
	g := group.New(context.Background(), group.KeepGoing())
	reg, err := weftotel.Group(r.mp.Meter("test"), "fanout", g)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	for i := range 5 {
		g.Go(func(context.Context) error {
			if i%2 == 0 {
				return errBoom
			}
			return nil
		})
	}
	_ = g.Wait()
	check(t, r.collect(), "fanout", []want{
		{"weft.group.running", nil, 0},
		{"weft.group.tasks.started", nil, 5},
		{"weft.group.tasks.completed", nil, 5},
		{"weft.group.tasks.failed", nil, 3},
		{"weft.group.tasks.panicked", nil, 0},
		{"weft.group.tasks.skipped", nil, 0},
	})
}

func TestBudget(t *testing.T) {
	r := newReader(t)
	b := retry.NewBudget(0.5, 0)
	reg, err := weftotel.Budget(r.mp.Meter("test"), "api", b)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(b))
	_ = p.Do(context.Background(), func(context.Context) error { return errBoom }) // earns 0.5, denied
	check(t, r.collect(), "api", []want{
		{"weft.retry.budget.credit", nil, b.Credit()},
		{"weft.retry.budget.retries", []attribute.KeyValue{outcome("denied")}, 1},
		{"weft.retry.budget.retries", []attribute.KeyValue{outcome("credit")}, 0},
	})
}

func TestDuplicate(t *testing.T) {
	r := newReader(t)
	m := r.mp.Meter("test")
	b := breaker.New()
	reg, err := weftotel.Breaker(m, "dup", b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := weftotel.Breaker(m, "dup", breaker.New()); !errors.Is(err, weftotel.ErrDuplicate) {
		t.Fatalf("second Breaker(dup) = %v, want ErrDuplicate", err)
	}
	// Another kind, another meter: not duplicates.
	bh := limiter.NewBulkhead(1, 0)
	reg2, err := weftotel.Bulkhead(m, "dup", bh)
	if err != nil {
		t.Fatalf("Bulkhead(dup) beside Breaker(dup): %v", err)
	}
	defer reg2.Unregister()
	reg3, err := weftotel.Breaker(r.mp.Meter("other"), "dup", b)
	if err != nil {
		t.Fatalf("Breaker(dup) on another meter: %v", err)
	}
	defer reg3.Unregister()

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatalf("second Unregister: %v", err)
	}
	reg4, err := weftotel.Breaker(m, "dup", b)
	if err != nil {
		t.Fatalf("Breaker(dup) after Unregister: %v", err)
	}
	defer reg4.Unregister()
}

func TestUnregisterStopsReporting(t *testing.T) {
	r := newReader(t)
	reg, err := weftotel.Bulkhead(r.mp.Meter("test"), "gone", limiter.NewBulkhead(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := point(r.collect(), "weft.bulkhead.running", "gone"); !ok {
		t.Fatal("no point before Unregister")
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if _, ok := point(r.collect(), "weft.bulkhead.running", "gone"); ok {
		t.Fatal("point after Unregister")
	}
}

func TestNoopMeter(t *testing.T) {
	reg, err := weftotel.Breaker(noop.NewMeterProvider().Meter("x"), "noop", breaker.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyExhausted(t *testing.T) {
	r := newReader(t)
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	reg, err := weftotel.Policy(r.mp.Meter("test"), "api", p)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	ctx := context.Background()
	for range 2 {
		if err := p.Do(ctx, func(context.Context) error { return errBoom }); !errors.Is(err, retry.ErrExhausted) {
			t.Fatalf("Do = %v, want ErrExhausted", err)
		}
	}
	check(t, r.collect(), "api", []want{
		{"weft.retry.retries", nil, 4},
		{"weft.retry.calls", []attribute.KeyValue{outcome("exhausted")}, 2},
		{"weft.retry.calls", []attribute.KeyValue{outcome("recovered")}, 0},
		{"weft.retry.calls", []attribute.KeyValue{outcome("denied")}, 0},
	})
}

// TestUnregisterDetachesHook checks that Unregister removes the observer a
// registration attached: a wait after it is not recorded.
func TestUnregisterDetachesHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader(t)
		bh := limiter.NewBulkhead(1, 1)
		reg, err := weftotel.Bulkhead(r.mp.Meter("test"), "hooked", bh)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		queueOnce := func() {
			release := make(chan struct{})
			done := make(chan error, 2)
			go func() { done <- bh.Do(ctx, func(context.Context) error { <-release; return nil }) }()
			synctest.Wait()
			go func() { done <- bh.Do(ctx, func(context.Context) error { return nil }) }()
			synctest.Wait()
			time.Sleep(time.Second)
			close(release)
			<-done
			<-done
		}
		queueOnce()
		check(t, r.collect(), "hooked", []want{{"weft.bulkhead.queue.duration", []attribute.KeyValue{outcome("admitted")}, 1}})
		if err := reg.Unregister(); err != nil {
			t.Fatal(err)
		}
		queueOnce()
		reg2, err := weftotel.Bulkhead(r.mp.Meter("test"), "hooked", bh)
		if err != nil {
			t.Fatal(err)
		}
		defer reg2.Unregister()
		// The histogram keeps its cumulative count of 1 from the first
		// registration: the wait after Unregister was not recorded.
		check(t, r.collect(), "hooked", []want{
			{"weft.bulkhead.queue.duration", []attribute.KeyValue{outcome("admitted")}, 1},
			{"weft.bulkhead.waits", nil, 2},
		})
	})
}
