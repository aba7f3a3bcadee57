package compare

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/ratelimit"
	"golang.org/x/time/rate"

	"github.com/weftgo/weft/limiter"
)

// rateHuge is a burst no benchmark exhausts: with one event per second the
// limiters below admit every call while doing their full update on each.
const rateHuge = 1 << 30

// rateAdmitting returns each implementation's admitting call. uber-go/ratelimit
// cannot refuse (Take blocks until the next slot), so it runs at a rate of one
// per nanosecond, where Take never has to sleep.
func rateAdmitting() map[string]func() bool {
	w := limiter.NewRate(1, rateHuge)
	x := rate.NewLimiter(1, rateHuge)
	u := ratelimit.New(int(time.Second))
	var tat, n atomic.Int64
	epoch := time.Now()
	return map[string]func() bool{
		"weft":     w.Allow,
		"xrate":    x.Allow,
		"uberrate": func() bool { u.Take(); return true },
		// floor: one monotonic clock read and one CAS, the least a GCRA
		// step needs.
		"floor": func() bool {
			now := int64(time.Since(epoch))
			old := tat.Load()
			return tat.CompareAndSwap(old, max(old, now)+1)
		},
		// floor-now: the same with time.Now, which also reads the wall
		// clock, as x/time/rate and uber-go/ratelimit do.
		"floor-now": func() bool {
			now := time.Now().UnixNano()
			old := tat.Load()
			return tat.CompareAndSwap(old, max(old, now)+1)
		},
		// floor-add: one atomic add, what any shared counter costs.
		"floor-add": func() bool { return n.Add(1) > 0 },
	}
}

var rateImplNames = []string{"weft", "floor", "floor-now", "floor-add", "xrate", "uberrate"}

// BenchmarkRateAllow admits an event from one goroutine.
func BenchmarkRateAllow(b *testing.B) {
	for _, name := range rateImplNames {
		allow := rateAdmitting()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				allow()
			}
		})
	}
}

// BenchmarkRateAllowParallel admits events on one limiter from GOMAXPROCS
// goroutines at once.
func BenchmarkRateAllowParallel(b *testing.B) {
	for _, name := range rateImplNames {
		allow := rateAdmitting()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					allow()
				}
			})
		})
	}
}

// BenchmarkRateDenyParallel refuses events on one exhausted limiter from
// GOMAXPROCS goroutines at once: the overload case. The floor is a monotonic
// clock read and an atomic load, since a refusal needs to write nothing.
func BenchmarkRateDenyParallel(b *testing.B) {
	w := limiter.NewRate(1e-3, 1)
	x := rate.NewLimiter(1e-3, 1)
	w.Allow()
	x.Allow()
	epoch := time.Now()
	var tat atomic.Int64
	tat.Store(int64(time.Hour))
	impls := []struct {
		name  string
		allow func() bool
	}{
		{"weft", w.Allow},
		{"floor", func() bool { return tat.Load() <= int64(time.Since(epoch)) }},
		{"xrate", x.Allow},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if impl.allow() {
						b.Error("admitted an event")
					}
				}
			})
		})
	}
}

// TestRateAgree checks that weft and x/time/rate make the same decision at
// every step of the same schedule, and that a steady Wait paces events as
// uber-go/ratelimit's Take does.
func TestRateAgree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := limiter.NewRate(10, 5)
		x := rate.NewLimiter(10, 5)
		admitted := 0
		for step := range 400 {
			// Bursts of 8 calls every 250ms: 5 then 2 or 3 admitted.
			if step%8 == 0 {
				time.Sleep(250 * time.Millisecond)
			}
			got, want := w.Allow(), x.Allow()
			if got != want {
				t.Fatalf("step %d at %v: weft %v, xrate %v", step, time.Now(), got, want)
			}
			if got {
				admitted++
			}
		}
		if want := 5 + 10*49*250/1000; admitted != want {
			t.Errorf("admitted %d, want %d", admitted, want)
		}

		start := time.Now()
		u := ratelimit.New(20, ratelimit.WithoutSlack)
		for range 5 {
			u.Take()
		}
		uber := time.Since(start)
		start = time.Now()
		r := limiter.NewRate(20, 1)
		for range 5 {
			if err := r.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if got := time.Since(start); got != uber || got != 200*time.Millisecond {
			t.Errorf("5 events at 20/s took %v with weft, %v with uberrate, want 200ms", got, uber)
		}
	})
}

// TestRateAgreeFloors checks that every implementation in the admitting
// scenarios does admit.
func TestRateAgreeFloors(t *testing.T) {
	for name, allow := range rateAdmitting() {
		for range 100 {
			if !allow() {
				t.Fatalf("%s refused", name)
			}
		}
	}
}
