// Package gcra is the generic cell rate algorithm (GCRA) that weft's rate
// limiters share: limiter.Rate and limiter.Keyed, retry.Budget's floor, and
// the Go side of limiter/redisrate, whose Lua script applies the same rule
// inside Redis.
//
// A limiter of perSecond events per second with bursts of burst events has
// an emission interval T = 1s/perSecond (in ns) and a tolerance τ = burst·T.
// Its only state is the theoretical arrival time tat: the time at which the
// bucket would be full again. Taking n events at now moves tat to
// max(tat, now) + n·T, and they may happen at once when that new tat is at
// most now + τ; otherwise they may happen after wait = tat' − now − τ.
package gcra

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// Inf is the perSecond of a limiter with no limit. It is math.MaxFloat64;
// Params treats math.Inf(1) as Inf too.
const Inf = math.MaxFloat64

// Params returns the emission interval T in ns of perSecond events per
// second (1s/perSecond rounded to the nearest ns, at least 1) and the
// tolerance burst·T. For perSecond >= Inf both are 0, meaning no limit. ok
// is false when burst·T exceeds maxTolerance ns. perSecond must be positive
// and burst at least 1; the callers check and name them.
func Params(perSecond float64, burst int, maxTolerance int64) (interval, tolerance int64, ok bool) {
	if perSecond >= Inf {
		return 0, 0, true
	}
	t := max(1, math.Round(float64(time.Second)/perSecond))
	if t*float64(burst) > float64(maxTolerance) {
		return 0, 0, false
	}
	return int64(t), int64(t) * int64(burst), true
}

// Step is the rule on one state: it returns the tat that taking inc = n·T
// at now would store, and the wait before those events may happen (<= 0:
// none).
func Step(tat, now, inc, tolerance int64) (next, wait int64) {
	next = max(tat, now) + inc
	return next, next - now - tolerance
}

// Take applies Step to cell atomically, unless the wait would exceed limit
// ns: then it stores nothing and returns the tat it read, the wait, and ok
// false. Otherwise it stores and returns the new tat, the wait (<= 0: the
// events may happen now) and ok true. With limit 0 Take is an admission
// check that records only what it admits.
func Take(cell *atomic.Int64, now, inc, tolerance, limit int64) (tat, wait int64, ok bool) {
	for {
		old := cell.Load()
		tat, wait = Step(old, now, inc, tolerance)
		if wait > limit {
			return old, wait, false
		}
		if cell.CompareAndSwap(old, tat) {
			return tat, wait, true
		}
	}
}

// Remaining returns how many events of interval T each could still be taken
// at once after a take that left wait (<= 0), as an admission decision
// reports it.
func Remaining(wait, interval int64) int {
	if wait >= 0 || interval <= 0 {
		return 0
	}
	return int(-wait / interval)
}

// Sleep waits for d ns, or until ctx ends if that comes first, and reports
// whether the whole wait passed. It leaves no timer running.
func Sleep(ctx context.Context, d int64) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(d))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
