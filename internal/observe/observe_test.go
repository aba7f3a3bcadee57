package observe_test

import (
	"errors"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/observe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHooks(t *testing.T) {
	var h observe.Hooks
	if h.Active() {
		t.Fatal("zero Hooks is active")
	}
	h.Emit(observe.Observation{Event: observe.Call}) // no observer: nothing happens
	var got []string
	f := func(tag string) func(observe.Observation) {
		return func(o observe.Observation) { got = append(got, tag+":"+o.Event) }
	}
	r1 := h.Add("test", f("a"))
	r2 := h.Add("test", f("b"))
	if !h.Active() {
		t.Fatal("Hooks with observers is not active")
	}
	h.Emit(observe.Observation{Event: observe.Wait, Err: errors.New("x")})
	r1()
	r1() // idempotent
	h.Emit(observe.Observation{Event: observe.Call})
	r2()
	if h.Active() {
		t.Fatal("Hooks active after every observer was removed")
	}
	h.Emit(observe.Observation{Event: observe.Call})
	want := []string{"a:wait", "b:wait", "b:call"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestAddNilPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "pkg: Observe(nil)" {
			t.Fatalf("recover() = %v", r)
		}
	}()
	var h observe.Hooks
	h.Add("pkg", nil)
}

func TestConcurrent(t *testing.T) {
	var h observe.Hooks
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 8 {
		wg.Go(func() {
			rm := h.Add("test", func(observe.Observation) { mu.Lock(); n++; mu.Unlock() })
			for range 100 {
				h.Emit(observe.Observation{})
			}
			rm()
		})
	}
	wg.Wait()
	if h.Active() || n < 800 {
		t.Fatalf("active=%v n=%d", h.Active(), n)
	}
}

func TestEmitInactiveAllocs(t *testing.T) {
	var h observe.Hooks
	if n := testing.AllocsPerRun(100, func() {
		if h.Active() {
			h.Emit(observe.Observation{})
		}
	}); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
