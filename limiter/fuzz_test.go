package limiter

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/weftgo/weft/internal/gcra"
)

// rateEvent is an event the limiter let happen: n events at time at.
type rateEvent struct{ at, n int64 }

// FuzzRateAdmission drives a Rate through AllowN, WaitN-style reservations
// and cancellations at chosen clock readings, some of them stale, and checks:
//   - the admission guarantee: over any window of length t, at most
//     burst + t/T events happen (T the emission interval), counting each
//     reservation at the time its wait ends and leaving cancelled ones out;
//   - while readings only move forward, every decision and wait equals that of
//     a reference token bucket kept in integer nanoseconds;
//   - a refusal writes nothing.
func FuzzRateAdmission(f *testing.F) {
	f.Add(uint32(100), uint8(3), []byte{0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 40})
	f.Add(uint32(7), uint8(1), []byte{1, 1, 0, 1, 1, 0, 2, 0, 1, 1, 1, 0, 0, 1, 3})
	f.Add(uint32(1000), uint8(5), []byte{0, 5, 0, 1, 2, 1, 1, 3, 0, 2, 1, 20, 4, 1, 2, 0, 4, 9})
	f.Add(uint32(1000), uint8(5), []byte("110"))                         // a reservation with no wait
	f.Add(uint32(73), uint8(156), []byte("0001\x8a01X0100100210210200")) // a forfeited slot stays taken
	f.Fuzz(func(t *testing.T, interval uint32, burst uint8, ops []byte) {
		if interval == 0 || burst == 0 || len(ops) > 3*200 {
			return
		}
		r := NewRate(float64(1e9)/float64(interval), int(burst))
		T, tol := r.interval, r.tolerance

		var (
			clock   int64       // the true time; readings are never later
			events  []rateEvent // admitted events, by index
			pending []int       // indexes of reservations that may still be cancelled
			tats    []int64     // tat after each entry of pending
			live    []bool      // events[i] not cancelled
			stack   []int       // reference model: admitted events not undone, newest last
			credit  = tol       // reference model: ns of credit, negative for debt
			last    int64       // reference model: time of its last update
			inOrder = true      // no stale reading yet
		)
		for op := range slices.Chunk(ops, 3) {
			if len(op) < 3 {
				break
			}
			kind, n := op[0]%4, int64(op[1])%(int64(burst)+1)
			clock += int64(op[2]) * T / 8
			now := clock
			if kind == 3 { // a stale reading of the clock
				now -= int64(op[1]) * T / 4
				inOrder = false
			}
			if inOrder {
				credit = min(tol, credit+now-last)
				last = now
			}
			switch kind {
			case 0, 3: // AllowN
				if n == 0 {
					continue
				}
				before := r.tat.Load()
				_, wait, ok := gcra.Take(&r.tat, now, n*T, tol, 0)
				if !ok {
					if r.tat.Load() != before {
						t.Fatalf("a refusal moved tat from %d to %d", before, r.tat.Load())
					}
				} else {
					events, live = append(events, rateEvent{now, n}), append(live, true)
					stack = append(stack, len(events)-1)
				}
				if inOrder {
					if want := credit >= n*T; ok != want || (ok && wait > 0) {
						t.Fatalf("AllowN(%d) at %d: got %v (wait %d), model says %v (credit %d)", n, now, ok, wait, want, credit)
					}
					if ok {
						credit -= n * T
					}
				}
			case 1: // WaitN: reserve and wait as long as needed
				if n == 0 {
					continue
				}
				tat, wait, ok := gcra.Take(&r.tat, now, n*T, tol, math.MaxInt64)
				if !ok {
					t.Fatalf("a reservation with no limit failed")
				}
				if inOrder && max(0, wait) != max(0, n*T-credit) {
					t.Fatalf("WaitN(%d) at %d waits %d, model says %d", n, now, wait, max(0, n*T-credit))
				}
				credit -= n * T
				events, live = append(events, rateEvent{now + max(0, wait), n}), append(live, true)
				stack = append(stack, len(events)-1)
				if wait > 0 {
					pending, tats = append(pending, len(events)-1), append(tats, tat)
				}
			case 2: // cancel a reservation whose wait has not ended
				for i := len(pending) - 1; i >= 0; i-- {
					if events[pending[i]].at <= clock {
						pending, tats = slices.Delete(pending, i, i+1), slices.Delete(tats, i, i+1)
					}
				}
				if len(pending) == 0 {
					continue
				}
				i := int(op[1]) % len(pending)
				e := pending[i]
				before := r.tat.Load()
				r.giveBack(tats[i], events[e].n*T)
				undone := r.tat.Load() != before
				pending, tats = slices.Delete(pending, i, i+1), slices.Delete(tats, i, i+1)
				live[e] = false
				if inOrder {
					top := stack[len(stack)-1] == e
					if undone != top {
						t.Fatalf("cancel of event %d: given back %v, model says %v", e, undone, top)
					}
					if top { // else the slot is forfeited and stays taken
						stack = stack[:len(stack)-1]
						credit += events[e].n * T
					}
				}
			}
		}
		rateCheckWindows(t, events, live, T, tol)
	})
}

// rateCheckWindows fails t if some window [a, b] between two event times
// holds more than burst + (b-a)/T events, that is n·T > tol + (b-a).
func rateCheckWindows(t *testing.T, events []rateEvent, live []bool, T, tol int64) {
	var evs []rateEvent
	for i, e := range events {
		if live[i] {
			evs = append(evs, e)
		}
	}
	slices.SortFunc(evs, func(a, b rateEvent) int { return cmp.Compare(a.at, b.at) })
	for i := range evs {
		var sum int64
		for j := i; j < len(evs); j++ {
			sum += evs[j].n
			if sum*T > tol+evs[j].at-evs[i].at {
				t.Fatalf("%d events in [%d, %d]: more than burst %d + %d ns at %d ns each",
					sum, evs[i].at, evs[j].at, tol/T, evs[j].at-evs[i].at, T)
			}
		}
	}
}
