package retry

import (
	"iter"
	"math/bits"
	"math/rand/v2"
	"time"
)

// schedule computes the delays of one call, in order. Its zero value is not
// usable; get one from Policy.schedule.
type schedule struct {
	p    *Policy
	base float64       // base of the next delay; once it reaches max, max is used (so it never overflows a Duration)
	prev time.Duration // previous delay, for DecorrelatedJitter
}

func (p *Policy) schedule() schedule {
	return schedule{p: p, base: float64(p.initial), prev: p.initial}
}

// next returns the delay before the next retry and advances the schedule.
// Every delay lies in [0, max].
func (s *schedule) next() time.Duration {
	p := s.p
	if p.jitter == jitterDecorrelated {
		hi := p.max
		if s.prev <= p.max/3 {
			hi = 3 * s.prev
		}
		d := p.between(p.initial, hi)
		s.prev = d
		return d
	}
	base := p.max
	if s.base < float64(p.max) {
		base = time.Duration(s.base)
		s.base *= p.mult
	}
	switch p.jitter {
	case jitterFull:
		return p.between(0, base)
	case jitterEqual:
		return base/2 + p.between(0, base-base/2)
	}
	return base
}

// between returns a uniformly random duration in [lo, hi), or lo when
// hi <= lo.
func (p *Policy) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	var u uint64
	if p.rand != nil {
		u = p.rand.Uint64()
	} else {
		u = rand.Uint64()
	}
	n, _ := bits.Mul64(u, uint64(hi-lo))
	return lo + time.Duration(n)
}

// Delays returns the policy's schedule: the computed delay before each retry,
// one for each try after the first (Attempts-1 values). Each iteration draws
// fresh jitter, from the Rand source if one was given. It does not include
// delays asked for with After, nor the cut made by MaxElapsed or a deadline.
func (p *Policy) Delays() iter.Seq[time.Duration] {
	return func(yield func(time.Duration) bool) {
		s := p.schedule()
		for range p.attempts - 1 {
			if !yield(s.next()) {
				return
			}
		}
	}
}
