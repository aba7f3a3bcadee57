package limiter

import (
	"sync"
	"testing"
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
