package pool

import (
	"context"
	"time"
)

// run is the background goroutine of a pool with MinIdle, IdleTTL or
// MaxLifetime. It destroys idle resources when they expire, and creates
// resources, one at a time, while fewer than MinIdle are idle. Close stops
// it; Close's drained waits for it to return.
func (p *Pool[T]) run() {
	defer func() {
		p.mu.Lock()
		p.background = false
		p.checkDrained()
		p.mu.Unlock()
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var retryAt time.Time // no refill before it: a create failed
	for {
		now := time.Now()
		wake := p.sweep(now)
		if p.minIdle > 0 {
			if !now.Before(retryAt) {
				for {
					select {
					case <-p.stop:
						return
					default:
					}
					started, err := p.refillOne()
					if !started {
						break
					}
					if err != nil {
						retryAt = time.Now().Add(RefillRetry)
						break
					}
				}
			}
			if time.Now().Before(retryAt) && (wake.IsZero() || retryAt.Before(wake)) {
				wake = retryAt
			}
		}
		if !wake.IsZero() {
			timer.Reset(time.Until(wake))
		}
		select {
		case <-p.stop:
			return
		case <-p.refill:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// needRefill reports whether the MinIdle refill should create a resource:
// too few are idle or on their way, there is room, and no caller waits
// (waiters get creates of their own). It is called with mu held.
func (p *Pool[T]) needRefill() bool {
	return !p.closed && p.head == nil && len(p.idle)+p.creating < p.minIdle && p.total() < p.maxSize
}

// wakeRefill wakes the background goroutine if the pool needs a refill. It
// is called with mu held, only when MinIdle is set.
func (p *Pool[T]) wakeRefill() {
	if p.needRefill() {
		select {
		case p.refill <- struct{}{}:
		default: // already awake or about to be
		}
	}
}

// refillOne creates one resource for the idle stack if the pool needs one,
// and reports whether it tried and what create returned. A caller that
// starts waiting meanwhile adopts the create.
func (p *Pool[T]) refillOne() (started bool, err error) {
	p.mu.Lock()
	if !p.needRefill() {
		p.mu.Unlock()
		return false, nil
	}
	c := &creation[T]{}
	p.orphans = append(p.orphans, c)
	p.creating++
	p.mu.Unlock()
	return true, p.runCreate(c, context.Background())
}

// sweep destroys the idle resources past MaxLifetime, and those idle for
// IdleTTL or more while more than MinIdle are idle, least recently used
// first. It returns when it should run next: the earliest expiry among the
// idle resources kept, and no later than the shorter of IdleTTL and
// MaxLifetime from now (for resources released meanwhile). It returns the
// zero time when there is nothing to sweep.
func (p *Pool[T]) sweep(now time.Time) time.Time {
	if p.idleTTL == 0 && p.lifetime == 0 {
		return time.Time{}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	var victims []*Resource[T]
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return time.Time{}
	}
	kept := p.idle[:0]
	left := len(p.idle)
	for _, r := range p.idle { // least recently used first
		switch {
		case p.lifetime > 0 && now.Sub(r.created) >= p.lifetime:
			p.startDestroy(r, causeExpired)
			victims = append(victims, r)
			left--
		case p.idleTTL > 0 && left > p.minIdle && now.Sub(r.lastUsed) >= p.idleTTL:
			p.startDestroy(r, causeIdle)
			victims = append(victims, r)
			left--
		default:
			kept = append(kept, r)
			if p.lifetime > 0 {
				earliest(r.created.Add(p.lifetime))
			}
			if p.idleTTL > 0 {
				earliest(r.lastUsed.Add(p.idleTTL))
			}
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, r := range victims {
		p.destroy(r)
	}
	period := p.idleTTL
	if period == 0 || p.lifetime > 0 && p.lifetime < period {
		period = p.lifetime
	}
	earliest(now.Add(period))
	return next
}
