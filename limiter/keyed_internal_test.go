package limiter

import (
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestKeyedReadsClockUnderLock checks that an Allow kept waiting for its
// shard's lock does not take its key's full bucket at a clock reading made
// before the wait: that would date the event back, and a caller right
// behind it would find the bucket full again. It runs on the real clock,
// since the wait is for a sync.Mutex, which testing/synctest cannot advance
// past; on a machine too slow to tell, it asserts nothing.
func TestKeyedReadsClockUnderLock(t *testing.T) {
	const interval = 20 * time.Millisecond
	k := NewKeyed(func(string) *Rate { return NewRate(float64(time.Second/interval), 1) })
	k.Allow("a")
	time.Sleep(2 * interval) // the bucket is full again

	s := k.shard("a")
	s.mu.Lock() // as if another key of the shard held it
	var first bool
	var wg sync.WaitGroup
	wg.Go(func() { first = k.Allow("a") })
	time.Sleep(3 * interval) // a reading made before the wait is now stale
	unlocked := time.Now()
	s.mu.Unlock()
	wg.Wait()
	second := k.Allow("a")
	if time.Since(unlocked) >= interval {
		t.Skip("too slow to tell: a second event was due anyway")
	}
	if !first {
		t.Fatal("the first event after a full bucket was refused")
	}
	if second {
		t.Error("two events admitted within one interval with a burst of 1")
	}
}

// TestKeyedStructure drives a Keyed with random keys of mixed rates, random
// waits, MaxKeys and IdleTTL, and checks after every step that each shard's
// map, LRU list and due heap hold the same keys, the heap is ordered and
// knows its positions, no due time is later than the key's true one (the
// sweep relies on that), and MaxKeys holds.
func TestKeyedStructure(t *testing.T) {
	for _, opts := range [][]KeyedOption{nil, {MaxKeys(40)}, {MaxKeys(40), IdleTTL(50 * time.Millisecond)}, {IdleTTL(time.Second)}} {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			k := NewKeyed(func(key int) *Rate {
				switch key % 3 {
				case 0:
					return NewRate(1, 2) // slow
				case 1:
					return NewRate(1000, 1) // fast
				}
				return NewRate(Inf, 1)
			}, opts...)
			var c keyedConfig
			for _, o := range opts {
				o(&c)
			}
			for step := range 3000 {
				key := rng.IntN(300)
				switch rng.IntN(4) {
				case 0, 1:
					k.Allow(key)
				case 2:
					k.Decide(key)
				case 3:
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
				}
				total := 0
				for i := range k.shards {
					s := &k.shards[i]
					s.mu.Lock()
					n := 0
					for e := s.lru.next; e != &s.lru; e = e.next {
						n++
						if s.keys[e.key] != e.r {
							t.Fatalf("step %d: LRU entry %v not in the map", step, e.key)
						}
					}
					if n != len(s.keys) || len(s.due) != len(s.keys) {
						t.Fatalf("step %d: map %d, LRU %d, heap %d", step, len(s.keys), n, len(s.due))
					}
					for j, e := range s.due {
						if e.pos != j {
							t.Fatalf("step %d: heap entry at %d says %d", step, j, e.pos)
						}
						if j > 0 && s.due[(j-1)/2].due > e.due {
							t.Fatalf("step %d: heap out of order at %d", step, j)
						}
						if truth := e.off + e.r.tat.Load() + k.idleTTL; e.due > truth {
							t.Fatalf("step %d: key %v due at %d, truly at %d", step, e.key, e.due, truth)
						}
					}
					total += len(s.keys)
					s.mu.Unlock()
				}
				if c.maxKeys > 0 && total > c.maxKeys {
					t.Fatalf("step %d: %d keys held, MaxKeys %d", step, total, c.maxKeys)
				}
			}
		})
	}
}
