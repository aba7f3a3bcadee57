package limiter

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"time"
)

// Keyed is a set of rate limiters, one per key (per user, per client IP),
// with bounded memory. It is safe for concurrent use: keys are spread over
// shards, each with its own lock. The zero value is not usable; create one
// with NewKeyed.
//
// A key whose bucket has been full again for the idle TTL (see IdleTTL) is
// forgotten when a new key arrives in its shard: a full bucket is exactly
// what a new limiter starts with, so that loses nothing, and only keys that
// are still being limited take memory. With MaxKeys, a new key also evicts
// the least recently used key of its shard once the shard is full; an
// evicted key starts over with a full bucket, so a key evicted while busy can
// be admitted beyond its limit: size MaxKeys above the number of keys busy at
// once.
type Keyed[K comparable] struct {
	newLimiter func(K) *Rate
	idleTTL    int64 // ns
	seed       maphash.Seed
	mask       uint64 // len(shards) - 1, a power of two minus one
	shards     []keyedShard[K]
}

// keyedShard holds the keys whose hash selects it.
type keyedShard[K comparable] struct {
	mu      sync.Mutex // guards the fields below
	keys    map[K]*keyedEntry[K]
	lru     keyedEntry[K] // sentinel: lru.next is the most recently used
	maxKeys int           // 0: no limit
	_       [64]byte      // keeps neighbouring shards' locks apart
}

// keyedEntry is one key's limiter, linked in its shard's LRU list.
type keyedEntry[K comparable] struct {
	key        K
	r          *Rate
	prev, next *keyedEntry[K]
}

// KeyedOption configures NewKeyed.
type KeyedOption func(*keyedConfig)

type keyedConfig struct {
	maxKeys int
	idleTTL time.Duration
}

// MaxKeys bounds the number of keys a Keyed holds to n: a new key evicts the
// least recently used key of its shard (Keyed splits n over its shards, so
// eviction is least recently used per shard, not over all keys). Without it
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
// forget it at once. IdleTTL panics if d is negative.
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
		idleTTL:    int64(c.idleTTL),
		seed:       maphash.MakeSeed(),
		mask:       uint64(n - 1),
		shards:     make([]keyedShard[K], n),
	}
	for i := range k.shards {
		s := &k.shards[i]
		s.keys = make(map[K]*keyedEntry[K])
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
	return k.get(s, key).Allow()
}

// Wait blocks until one event for key may happen and records it, with the
// same contract as Rate.Wait.
func (k *Keyed[K]) Wait(ctx context.Context, key K) error {
	r, tat, wait, err := k.reserve(ctx, key)
	if err != nil || wait <= 0 {
		return err
	}
	return r.sleep(ctx, tat, r.interval, wait)
}

// reserve reserves one event for key; see Rate.reserve.
func (k *Keyed[K]) reserve(ctx context.Context, key K) (r *Rate, tat, wait int64, err error) {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	r = k.get(s, key)
	tat, wait, err = r.reserve(ctx, 1)
	return r, tat, wait, err
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
	return &k.shards[maphash.Comparable(k.seed, key)&k.mask]
}

// keyedSweep is the most idle keys one new key drops, which bounds the time
// the shard's lock is held while memory still shrinks as keys arrive.
const keyedSweep = 8

// get returns key's limiter, creating it if need be, and marks it as the
// most recently used. s.mu must be held.
func (k *Keyed[K]) get(s *keyedShard[K], key K) *Rate {
	e := s.keys[key]
	if e != nil {
		if s.lru.next != e {
			e.unlink()
			s.pushFront(e)
		}
		return e.r
	}
	now := time.Now()
	for i := 0; i < keyedSweep && s.lru.prev != &s.lru; i++ {
		old := s.lru.prev
		if int64(now.Sub(old.r.epoch))-old.r.tat.Load() < k.idleTTL {
			break
		}
		s.remove(old)
	}
	if s.maxKeys > 0 && len(s.keys) >= s.maxKeys {
		s.remove(s.lru.prev)
	}
	r := k.newLimiter(key)
	if r == nil {
		panic(fmt.Sprintf("limiter: Keyed: newLimiter(%v) returned nil", key))
	}
	e = &keyedEntry[K]{key: key, r: r}
	s.keys[key] = e
	s.pushFront(e)
	return r
}

func (s *keyedShard[K]) pushFront(e *keyedEntry[K]) {
	e.prev, e.next = &s.lru, s.lru.next
	e.next.prev, s.lru.next = e, e
}

func (s *keyedShard[K]) remove(e *keyedEntry[K]) {
	e.unlink()
	delete(s.keys, e.key)
}

func (e *keyedEntry[K]) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
