package limiter

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"time"
)

// Keyed is a set of rate limiters, one per key (per user, per client IP),
// with bounded memory. It is safe for concurrent use: keys are spread over
// shards, each with its own lock. Create one with NewKeyed: a zero Keyed
// panics on first use.
//
// A key whose bucket has been full again for the idle TTL (see IdleTTL) is
// idle: a full bucket is exactly what a new limiter starts with, so
// forgetting it loses nothing. Each new key arriving in a shard forgets up
// to 8 of the shard's idle keys, whatever their rates and however recently
// they were used, so memory is bounded by the keys still being limited plus
// a few per shard. With MaxKeys, a new key in a full shard evicts an idle key
// if the shard has one, and otherwise the least recently used key (as a
// CLOCK tells it: the oldest key not used since eviction last passed it),
// which is still being limited: an evicted key starts over with a full bucket and can
// be admitted beyond its limit, so size MaxKeys above the number of keys
// limited at once.
type Keyed[K comparable] struct {
	newLimiter func(K) *Rate
	idleTTL    int64 // ns
	seed       maphash.Seed
	mask       uint64 // len(shards) - 1, a power of two minus one
	shards     []keyedShard[K]
	epoch      time.Time // origin of the due times, with a monotonic reading
}

// keyedShard holds the keys whose hash selects it.
type keyedShard[K comparable] struct {
	mu sync.Mutex // guards the fields below
	// keys maps each key to its limiter, whose entry (in the list and the
	// heap) is found only by eviction and the sweep: a hit reads no entry.
	keys map[K]*Rate
	// lru is the sentinel of the keys' list, a CLOCK: a hit only marks its
	// key used, and eviction walks from the back (lru.prev), giving each
	// used key a second chance at the front, so the oldest key not used
	// since it was last passed goes first.
	lru keyedEntry[K]
	// due is a min-heap of the keys by due time: every idle key is among
	// those whose due time has passed, which the sweep finds first.
	due     []*keyedEntry[K]
	maxKeys int // 0: no limit
	// Counters, which only grow: events admitted and refused, and keys
	// forgotten once idle (expired) or to make room under MaxKeys
	// (evicted). They change under mu, whose cache line the event has
	// just taken, so plain fields cost nothing more; Stats reads them
	// under mu too.
	admitted, rejected, expired, evicted uint64
	_                                    [64]byte // keeps neighbouring shards' locks apart
}

// keyedEntry is one key's limiter, linked in its shard's LRU list and placed
// in its due heap.
type keyedEntry[K comparable] struct {
	key        K
	r          *Rate
	prev, next *keyedEntry[K]
	// off is r's epoch minus the Keyed's, in ns, so that the key is idle
	// once the Keyed's clock reaches off + r.tat + idleTTL.
	off int64
	// due is a time, by the Keyed's clock, before which the key is not
	// idle: that sum when it was last computed. The key's calls only ever
	// move it later, so the sweep recomputes it lazily.
	due int64
	pos int // index in the shard's due heap
}

// KeyedOption configures NewKeyed.
type KeyedOption func(*keyedConfig)

type keyedConfig struct {
	maxKeys int
	idleTTL time.Duration
}

// MaxKeys bounds the number of keys a Keyed holds to n: a new key arriving
// in a full shard evicts a key whose bucket is full (IdleTTL or not) if the
// shard has one, and otherwise its least recently used key, as a CLOCK
// approximates it (Keyed splits n over its shards, so eviction is per shard, not over all keys). Without it
// only idle keys are dropped. MaxKeys panics if n < 1.
func MaxKeys(n int) KeyedOption {
	if n < 1 {
		panic(fmt.Sprintf("limiter: MaxKeys(%d): n must be at least 1", n))
	}
	return func(c *keyedConfig) { c.maxKeys = n }
}

// IdleTTL keeps a key whose bucket is full again (it has been idle long
// enough to earn its whole burst back) for d more before forgetting it, which
// spares recreating limiters for keys that come back. The default is 0:
// forget it at once; a d beyond 73 years counts as 73 years. IdleTTL panics
// if d is negative.
func IdleTTL(d time.Duration) KeyedOption {
	if d < 0 {
		panic(fmt.Sprintf("limiter: IdleTTL(%v): d must not be negative", d))
	}
	return func(c *keyedConfig) { c.idleTTL = d }
}

// keyedMinPerShard is the fewest keys a shard holds under MaxKeys, so that
// small limits keep (nearly) exact LRU order in few shards.
const keyedMinPerShard = 16

// NewKeyed returns a Keyed that gives each new key the limiter
// newLimiter(key) returns, which must be a new *Rate each time, never nil.
// newLimiter runs with the lock of the key's shard held: it must be cheap and
// must not call the Keyed. NewKeyed panics if newLimiter is nil.
func NewKeyed[K comparable](newLimiter func(K) *Rate, opts ...KeyedOption) *Keyed[K] {
	if newLimiter == nil {
		panic("limiter: NewKeyed(nil): newLimiter must not be nil")
	}
	var c keyedConfig
	for _, o := range opts {
		o(&c)
	}
	n := 1 << bits.Len(uint(4*runtime.GOMAXPROCS(0)-1)) // a power of two >= 4·GOMAXPROCS
	if c.maxKeys > 0 {
		n = min(n, 1<<(bits.Len(uint(max(1, c.maxKeys/keyedMinPerShard)))-1))
	}
	k := &Keyed[K]{
		newLimiter: newLimiter,
		idleTTL:    min(int64(c.idleTTL), maxTolerance), // keeps off + tat + idleTTL from overflowing
		seed:       maphash.MakeSeed(),
		mask:       uint64(n - 1),
		shards:     make([]keyedShard[K], n),
		epoch:      time.Now(),
	}
	for i := range k.shards {
		s := &k.shards[i]
		s.keys = make(map[K]*Rate)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
		if c.maxKeys > 0 {
			s.maxKeys = c.maxKeys / n
			if i < c.maxKeys%n {
				s.maxKeys++
			}
		}
	}
	return k
}

// Allow reports whether one event for key may happen now, and if so records
// it.
func (k *Keyed[K]) Allow(key K) bool {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Deciding under the lock keeps an idle key from being dropped between
	// the look-up and the decision, which could grant its burst twice.
	ok := k.get(s, key).Allow()
	s.count(ok)
	return ok
}

// count counts one event admitted (ok) or refused. s.mu must be held.
func (s *keyedShard[K]) count(ok bool) {
	if ok {
		s.admitted++
	} else {
		s.rejected++
	}
}

// Wait blocks until one event for key may happen and records it, with the
// same contract as Rate.Wait.
func (k *Keyed[K]) Wait(ctx context.Context, key K) error {
	s := k.shard(key)
	r, tat, wait, err := k.reserve(ctx, s, key)
	if err == nil && wait > 0 {
		err = r.sleep(ctx, tat, r.interval, wait)
		if err == nil {
			s.mu.Lock()
			s.count(true)
			s.mu.Unlock()
		}
	}
	return r.waited(1, err)
}

// reserve reserves one event for key; see Rate.reserve. It counts the event
// unless it has to wait: Wait counts that one once its wait is over.
func (k *Keyed[K]) reserve(ctx context.Context, s *keyedShard[K], key K) (r *Rate, tat, wait int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r = k.get(s, key)
	tat, wait, err = r.reserve(ctx, 1)
	switch {
	case err == nil && wait <= 0:
		s.count(true)
	case err != nil && errors.Is(err, ErrRateExceeded):
		s.count(false)
	}
	return r, tat, wait, err
}

// KeyedStats is a snapshot of a Keyed's keys and counters.
type KeyedStats struct {
	// Keys is the number of keys held.
	Keys int
	// Admitted and Rejected count the events admitted and refused over all
	// keys, as RateStats does for one limiter.
	Admitted, Rejected uint64
	// Expired is the number of keys forgotten once their bucket was full
	// again for the idle TTL; Evicted the number forgotten earlier to make
	// room for a new key under MaxKeys.
	Expired, Evicted uint64
}

// Stats returns the number of keys held and the counters, summed over the
// shards one after another (each under its lock, briefly).
func (k *Keyed[K]) Stats() KeyedStats {
	if k.shards == nil {
		panic("limiter: Keyed used without NewKeyed")
	}
	var st KeyedStats
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		st.Keys += len(s.keys)
		st.Admitted += s.admitted
		st.Rejected += s.rejected
		st.Expired += s.expired
		st.Evicted += s.evicted
		s.mu.Unlock()
	}
	return st
}

// Len returns the number of keys held.
func (k *Keyed[K]) Len() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.keys)
		s.mu.Unlock()
	}
	return n
}

func (k *Keyed[K]) shard(key K) *keyedShard[K] {
	if k.shards == nil {
		panic("limiter: Keyed used without NewKeyed")
	}
	return &k.shards[maphash.Comparable(k.seed, key)&k.mask]
}

// keyedSweep is the most idle keys one new key drops, which bounds the time
// the shard's lock is held while memory still shrinks faster than keys
// arrive.
const keyedSweep = 8

// get returns key's limiter, creating it if need be, and marks it used.
// s.mu must be held.
func (k *Keyed[K]) get(s *keyedShard[K], key K) *Rate {
	if r := s.keys[key]; r != nil {
		// A hit marks the key used (r.keyedUsed) instead of moving it to
		// the front of the list, which would write two other keys' entries.
		if !r.keyedUsed {
			r.keyedUsed = true
		}
		return r
	}
	now := int64(time.Since(k.epoch))
	swept := k.sweep(s, now, keyedSweep)
	s.expired += uint64(swept)
	if swept < keyedSweep && s.maxKeys > 0 && len(s.keys) >= s.maxKeys {
		// No key is idle (the sweep stopped short). Evict one whose bucket
		// is full, though its IdleTTL has not passed, or else the least
		// recently used (as the CLOCK tells), which is still being
		// limited. Due times are a key's full time plus IdleTTL, so the
		// same sweep finds the first.
		if k.idleTTL == 0 || k.sweep(s, now+k.idleTTL, 1) == 0 {
			s.remove(s.victim())
		}
		s.evicted++
	}
	r := k.newLimiter(key)
	if r == nil {
		panic(fmt.Sprintf("limiter: Keyed: newLimiter(%v) returned nil", key))
	}
	off := int64(r.epoch.Sub(k.epoch))
	e := &keyedEntry[K]{key: key, r: r, off: off, due: off + r.tat.Load() + k.idleTTL}
	s.keys[key] = r
	s.pushFront(e)
	s.push(e)
	return r
}

// sweep forgets up to max idle keys of s at now and returns how many it
// forgot; fewer than max means that s has no idle key left. It looks only at
// keys whose due time has passed, earliest first: one still being limited
// gets its true due time and goes back into the heap, later than now, so
// that it is looked at again only once it could have become idle, and never
// hides the idle keys behind it. Each such look follows calls that kept the
// key limited, so the work is paid for by those calls. s.mu must be held.
func (k *Keyed[K]) sweep(s *keyedShard[K], now int64, limit int) int {
	n := 0
	for n < limit && len(s.due) > 0 && s.due[0].due <= now {
		e := s.due[0]
		if due := e.off + e.r.tat.Load() + k.idleTTL; due > now {
			e.due = due
			s.down(0)
			continue
		}
		s.remove(e)
		n++
	}
	return n
}

// victim returns the key to evict: the one nearest the back of the list
// not used since it was last passed. Each used key it passes loses its mark
// and goes to the front (its second chance), so a full turn finds one, and
// the work is paid for by the hits that set the marks. s has a key.
func (s *keyedShard[K]) victim() *keyedEntry[K] {
	for {
		e := s.lru.prev
		if !e.r.keyedUsed {
			return e
		}
		e.r.keyedUsed = false
		e.unlink()
		s.pushFront(e)
	}
}

func (s *keyedShard[K]) pushFront(e *keyedEntry[K]) {
	e.prev, e.next = &s.lru, s.lru.next
	e.next.prev, s.lru.next = e, e
}

// remove forgets e.
func (s *keyedShard[K]) remove(e *keyedEntry[K]) {
	e.unlink()
	delete(s.keys, e.key)
	last := len(s.due) - 1
	if i := e.pos; i != last {
		s.due[i] = s.due[last]
		s.due[i].pos = i
		s.due[last] = nil
		s.due = s.due[:last]
		s.down(i)
		s.up(i)
	} else {
		s.due[last] = nil
		s.due = s.due[:last]
	}
}

// push adds e to the due heap.
func (s *keyedShard[K]) push(e *keyedEntry[K]) {
	e.pos = len(s.due)
	s.due = append(s.due, e)
	s.up(e.pos)
}

// up moves the heap entry at i towards the root while it is due earlier
// than its parent.
func (s *keyedShard[K]) up(i int) {
	h := s.due
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].pos, h[i].pos = p, i
		i = p
	}
}

// down moves the heap entry at i towards the leaves while a child is due
// earlier.
func (s *keyedShard[K]) down(i int) {
	h := s.due
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].due < h[c].due {
			c++
		}
		if h[i].due <= h[c].due {
			return
		}
		h[i], h[c] = h[c], h[i]
		h[i].pos, h[c].pos = i, c
		i = c
	}
}

func (e *keyedEntry[K]) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
