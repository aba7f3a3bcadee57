package retry

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/internal/gcra"
)

// Budget bounds the retries of many calls together, so that a failing
// dependency sees at most a fixed fraction of extra load instead of a retry
// storm (the idea of gRPC's retry throttling and Finagle's RetryBudget).
//
// Every call's first try earns ratio of a retry in credit; every retry spends
// one. When the credit is spent, a retry is still allowed if the floor of
// minPerSecond retries per second has room; otherwise the call ends with
// ErrBudgetExhausted. So over any run, retries ≤ ratio·(first tries) +
// minPerSecond·(seconds elapsed + 1). Credit never exceeds what 1,000 first
// tries earn (ratio·1,000 retries), so a long healthy period cannot fund a
// later storm.
//
// A Budget is safe for concurrent use and takes no lock: each first try and
// each retry is one or a few atomic operations. Create one with NewBudget: a
// zero Budget panics on first use. Share one Budget between the
// policies that call the same dependency; attach it with WithBudget.
//
// The floor measures time with time.Now. Under testing/synctest, where each
// bubble has a clock of its own, use a Budget inside one bubble only (or
// outside every bubble); it may be made before the bubble starts.
type Budget struct {
	credit   atomic.Int64 // in units; one retry costs unit
	earn     int64        // units earned by a first try
	capacity int64        // most units credit may hold

	interval  int64        // ns between floor retries; 0 when there is no floor
	tolerance int64        // the floor's burst (minPerSecond retries) times interval, about 1s
	tat       atomic.Int64 // floor's theoretical arrival time, ns since epoch (GCRA); MinInt64 before the first
	epoch     time.Time

	// Counted by withdraw, on the retry path only.
	granted, floor, denied atomic.Uint64
}

// BudgetStats is a snapshot of a Budget's counters, which only grow.
type BudgetStats struct {
	// Granted is the number of retries the budget allowed from its credit,
	// Floor the number it allowed from the per-second floor once the
	// credit was spent.
	Granted, Floor uint64
	// Denied is the number of retries refused (the calls ended with
	// ErrBudgetExhausted).
	Denied uint64
}

// Stats returns the budget's counters. It takes no lock.
func (b *Budget) Stats() BudgetStats {
	return BudgetStats{Granted: b.granted.Load(), Floor: b.floor.Load(), Denied: b.denied.Load()}
}

// unit is the fixed-point scale of Budget.credit: one retry.
const unit = 1 << 32

// budgetMemory is how many first tries' credit a Budget keeps at most.
const budgetMemory = 1000

// NewBudget returns a Budget that lets retries be at most ratio of first
// tries, plus minPerSecond retries per second whatever the ratio (0 for no
// floor). NewBudget panics if ratio is not in (0, 1] or minPerSecond is
// negative.
func NewBudget(ratio float64, minPerSecond int) *Budget {
	if !(ratio > 0 && ratio <= 1) {
		panic(fmt.Sprintf("retry: NewBudget(%v, %d): ratio must be in (0, 1]", ratio, minPerSecond))
	}
	if minPerSecond < 0 {
		panic(fmt.Sprintf("retry: NewBudget(%v, %d): minPerSecond must not be negative", ratio, minPerSecond))
	}
	earn := max(int64(math.Round(ratio*unit)), 1)
	b := &Budget{earn: earn, capacity: earn * budgetMemory, epoch: time.Now()}
	if minPerSecond > 0 {
		// minPerSecond <= MaxInt, so burst·T is about 1s: never too long.
		b.interval, b.tolerance, _ = gcra.Params(float64(minPerSecond), minPerSecond, math.MaxInt64)
	}
	// The first floor retry is measured from now, whatever the clock says
	// (a Budget made outside a synctest bubble and used inside sees a
	// clock far before epoch).
	b.tat.Store(math.MinInt64)
	return b
}

// deposit credits one first try.
func (b *Budget) deposit() {
	for {
		c := b.credit.Load()
		if c >= b.capacity {
			if b.capacity == 0 { // only a zero Budget has no capacity
				panic("retry: Budget used without NewBudget")
			}
			return
		}
		if b.credit.CompareAndSwap(c, min(c+b.earn, b.capacity)) {
			return
		}
	}
}

// withdraw reports whether one retry may happen, and if so pays for it,
// and counts the answer.
func (b *Budget) withdraw() bool {
	ok, byFloor := b.take()
	switch {
	case !ok:
		b.denied.Add(1)
	case byFloor:
		b.floor.Add(1)
	default:
		b.granted.Add(1)
	}
	return ok
}

// take reports whether one retry may happen, and if so pays for it; byFloor
// says the floor paid.
func (b *Budget) take() (ok, byFloor bool) {
	for {
		c := b.credit.Load()
		if c < unit {
			break
		}
		if b.credit.CompareAndSwap(c, c-unit) {
			return true, false
		}
	}
	if b.interval == 0 {
		if b.capacity == 0 {
			panic("retry: Budget used without NewBudget")
		}
		return false, false
	}
	// The floor is a GCRA limiter with a burst of minPerSecond: a retry is
	// allowed when it keeps the theoretical arrival time within about one
	// second of now, which admits minPerSecond at once and then
	// minPerSecond per second.
	_, _, ok = gcra.Take(&b.tat, int64(time.Since(b.epoch)), b.interval, b.tolerance, 0)
	return ok, ok
}

// Credit returns how many retries the budget's credit would allow now, not
// counting the per-second floor. It is a snapshot for metrics and tests.
func (b *Budget) Credit() float64 {
	return float64(b.credit.Load()) / unit
}
