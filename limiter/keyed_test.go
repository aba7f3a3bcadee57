package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/limiter"
)

// keyedCounting returns a Keyed of NewRate(perSecond, burst) limiters and a
// count of the limiters it created.
func keyedCounting(perSecond float64, burst int, opts ...limiter.KeyedOption) (*limiter.Keyed[string], *atomic.Int64) {
	var made atomic.Int64
	return limiter.NewKeyed(func(string) *limiter.Rate {
		made.Add(1)
		return limiter.NewRate(perSecond, burst)
	}, opts...), &made
}

func TestKeyedPanics(t *testing.T) {
	tests := []struct {
		want string
		fn   func()
	}{
		{"limiter: NewKeyed(nil): newLimiter must not be nil", func() { limiter.NewKeyed[int](nil) }},
		{"limiter: MaxKeys(0): n must be at least 1", func() { limiter.MaxKeys(0) }},
		{"limiter: IdleTTL(-1s): d must not be negative", func() { limiter.IdleTTL(-time.Second) }},
		{"limiter: Keyed: newLimiter(7) returned nil", func() {
			limiter.NewKeyed(func(int) *limiter.Rate { return nil }).Allow(7)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { assert.PanicsWithValue(t, tt.want, tt.fn) })
	}
}

func TestKeyedPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := limiter.NewKeyed(func(user string) *limiter.Rate {
			if user == "vip" {
				return limiter.NewRate(10, 3)
			}
			return limiter.NewRate(10, 1)
		})
		assert.True(t, k.Allow("ann"))
		assert.False(t, k.Allow("ann"))
		assert.True(t, k.Allow("bob"), "keys do not share a limit")
		for range 3 {
			assert.True(t, k.Allow("vip"))
		}
		assert.False(t, k.Allow("vip"))
		time.Sleep(100 * time.Millisecond)
		assert.True(t, k.Allow("ann"))
		assert.True(t, k.Allow("vip"))
		assert.Equal(t, 3, k.Len())
	})
}

// TestKeyedNewKeyStartsFull checks, on the real clock, that a new key's
// first event is admitted even with a burst of 1: Allow reads the clock
// before the key's limiter exists.
func TestKeyedNewKeyStartsFull(t *testing.T) {
	k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(1, 1) })
	for i := range 1000 {
		key := strconv.Itoa(i)
		require.True(t, k.Allow(key), "first event of key %s", key)
		require.False(t, k.Allow(key), "second event of key %s", key)
	}
}

func TestKeyedMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, made := keyedCounting(1, 1, limiter.MaxKeys(3)) // few keys: one shard, exact LRU
		for _, key := range []string{"a", "b", "c", "a", "d"} {
			k.Allow(key) // "d" evicts "b", the least recently used
		}
		assert.Equal(t, 3, k.Len())
		assert.Equal(t, int64(4), made.Load())
		assert.False(t, k.Allow("a"), "a was kept")
		assert.False(t, k.Allow("c"), "c was kept")
		assert.False(t, k.Allow("d"), "d was kept")
		assert.Equal(t, int64(4), made.Load())
		assert.True(t, k.Allow("b"), "b was evicted and starts over")
		assert.Equal(t, int64(5), made.Load())
		assert.Equal(t, 3, k.Len())
	})
}

// TestKeyedMaxKeysSecondChance checks that eviction passes over every key
// used since it was added, however many, and takes the one that was not.
func TestKeyedMaxKeysSecondChance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, made := keyedCounting(1, 1, limiter.MaxKeys(4)) // one shard
		for _, key := range []string{"a", "b", "c", "d", "a", "b", "d", "e"} {
			k.Allow(key) // "e" evicts "c", the one key not used again
		}
		assert.Equal(t, int64(5), made.Load())
		for _, key := range []string{"a", "b", "d", "e"} {
			assert.False(t, k.Allow(key), "%s was kept", key)
		}
		assert.Equal(t, int64(5), made.Load())
		assert.True(t, k.Allow("c"), "c was evicted and starts over")
	})
}

func TestKeyedMaxKeysBoundsLen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, n := range []int{1, 40, 1000} {
			k, _ := keyedCounting(1, 1, limiter.MaxKeys(n))
			for i := range 10 * n {
				k.Allow(fmt.Sprint(i))
				require.LessOrEqual(t, k.Len(), n)
			}
			assert.Equal(t, n, k.Len(), "every shard is full after %d keys", 10*n)
		}
	})
}

func TestKeyedIdleKeysAreDropped(t *testing.T) {
	tests := []struct {
		name string
		opts []limiter.KeyedOption
		ttl  time.Duration
	}{
		{"by default once the bucket is full", nil, 0},
		{"IdleTTL after the bucket is full", []limiter.KeyedOption{limiter.IdleTTL(time.Minute)}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// One event per second: "a" is full again 1s after its event.
				k, made := keyedCounting(1, 1, append(tt.opts, limiter.MaxKeys(10))...)
				start := time.Now()
				require.True(t, k.Allow("a"))
				time.Sleep(time.Second + tt.ttl - time.Nanosecond)
				k.Allow("b") // a new key sweeps, but "a" is not idle long enough
				assert.Equal(t, 2, k.Len())
				time.Sleep(time.Nanosecond)
				k.Allow("c") // now "a" goes; "b" is busy
				assert.Equal(t, 2, k.Len())
				assert.Equal(t, int64(3), made.Load())
				assert.True(t, k.Allow("a"), "a dropped key lost nothing")
				assert.Equal(t, int64(4), made.Load())
				assert.Equal(t, time.Second+tt.ttl, time.Since(start))
			})
		})
	}
}

func TestKeyedWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, _ := keyedCounting(10, 1)
		start := time.Now()
		require.NoError(t, k.Wait(context.Background(), "a"))
		require.NoError(t, k.Wait(context.Background(), "b"))
		require.NoError(t, k.Wait(context.Background(), "a"))
		assert.Equal(t, 100*time.Millisecond, time.Since(start))

		cause := errors.New("client went away")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(30*time.Millisecond, func() { cancel(cause) })
		assert.Same(t, cause, k.Wait(ctx, "a"))
		assert.Equal(t, 130*time.Millisecond, time.Since(start))
		// The cancelled wait gave its slot back: "a" is due at 200ms.
		time.Sleep(70 * time.Millisecond)
		assert.True(t, k.Allow("a"))
		assert.Same(t, cause, k.Wait(ctx, "b"), "a done ctx fails at once")
	})
}

// TestKeyedConcurrent hammers many keys from many goroutines while the
// bubble's clock stands still: every key admits exactly its burst.
func TestKeyedConcurrent(t *testing.T) {
	tests := []struct {
		name    string
		keys    int
		opts    []limiter.KeyedOption
		wantLen int
	}{
		{"unbounded", 300, nil, 300},
		{"bounded", 300, []limiter.KeyedOption{limiter.MaxKeys(1000)}, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const burst, goroutines, rounds = 3, 8, 5
				k, made := keyedCounting(1, burst, tt.opts...)
				var admitted atomic.Int64
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						for i := range rounds * tt.keys {
							if k.Allow(fmt.Sprint((i + g*7) % tt.keys)) {
								admitted.Add(1)
							}
						}
					})
				}
				wg.Wait()
				assert.Equal(t, int64(burst*tt.keys), admitted.Load())
				assert.Equal(t, int64(tt.keys), made.Load(), "no key was created twice")
				assert.Equal(t, tt.wantLen, k.Len())
			})
		})
	}
}

// TestKeyedConcurrentEviction churns more keys than MaxKeys from many
// goroutines, with Wait and Allow mixed, and checks the bound holds.
func TestKeyedConcurrentEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxKeys = 64
		k, _ := keyedCounting(1000, 2, limiter.MaxKeys(maxKeys))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 500 {
					key := fmt.Sprint(g*1000 + i%300)
					if i%3 == 0 {
						assert.NoError(t, k.Wait(context.Background(), key))
					} else {
						k.Allow(key)
					}
					assert.LessOrEqual(t, k.Len(), maxKeys)
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, k.Len(), maxKeys)
	})
}

// keyedShards is the number of shards NewKeyed makes without MaxKeys.
func keyedShards() int {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n <<= 1
	}
	return n
}

// TestKeyedMemoryBoundedByLimitedKeys replays, scaled down, traffic where
// 1% of the keys are on a one-per-minute tier and the rest on a fast one:
// the slow keys stay limited for a minute, the fast ones for a millisecond.
// Memory must follow the keys still being limited, whatever the mix: a slow
// key at the end of a shard's LRU list must not keep the idle keys behind
// it. The second case is a single key that drains a slow burst.
func TestKeyedMemoryBoundedByLimitedKeys(t *testing.T) {
	const (
		keys = 20_000
		step = 100 * time.Microsecond // between new keys: 2s in all
	)
	for _, tc := range []struct {
		name    string
		slow    func(i int) bool
		limited int // keys limited at the end: every slow key, and the fast keys of the last ms
	}{
		{"tiers", func(i int) bool { return i%100 == 0 }, keys/100 + 10},
		{"one drained burst", func(i int) bool { return i == 0 }, 1 + 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := limiter.NewKeyed(func(i int) *limiter.Rate {
					if tc.slow(i) {
						return limiter.NewRate(1.0/60, 5)
					}
					return limiter.NewRate(1000, 1)
				})
				peak := 0
				for i := range keys {
					if tc.slow(i) {
						for range 5 {
							require.True(t, k.Allow(i))
						}
						require.False(t, k.Allow(i))
					} else {
						require.True(t, k.Allow(i))
					}
					if i%1000 == 999 {
						peak = max(peak, k.Len())
					}
					time.Sleep(step)
				}
				slack := 4 * keyedShards()
				t.Logf("peak %d keys held, %d limited at the end, %d shards", peak, tc.limited, keyedShards())
				assert.LessOrEqual(t, peak, tc.limited+slack)
			})
		})
	}
}

// TestKeyedMaxKeysEvictsIdleFirst replays, scaled down, 200 keys of a
// one-per-minute tier each called twice within its minute while a stream of
// one-off fast keys passes by, with MaxKeys at 5x the busy set. No busy key
// may be evicted while idle keys are held, so none is admitted twice. With
// IdleTTL the idle keys are kept, and MaxKeys must evict them, full buckets,
// before the busy keys.
func TestKeyedMaxKeysEvictsIdleFirst(t *testing.T) {
	for _, opts := range [][]limiter.KeyedOption{
		{limiter.MaxKeys(1000)},
		{limiter.MaxKeys(1000), limiter.IdleTTL(time.Hour)},
	} {
		synctest.Test(t, func(t *testing.T) {
			k := limiter.NewKeyed(func(key string) *limiter.Rate {
				if key[0] == 'b' {
					return limiter.NewRate(1.0/60, 1)
				}
				return limiter.NewRate(1000, 1)
			}, opts...)
			fast := 0
			twice := 0
			for round := range 2 {
				for b := range 200 {
					if k.Allow(fmt.Sprint("b", b)) != (round == 0) {
						twice++
					}
					for range 20 {
						require.True(t, k.Allow(fmt.Sprint("f", fast)))
						fast++
						time.Sleep(100 * time.Microsecond)
					}
				}
			}
			assert.Zero(t, twice, "busy keys admitted twice within their minute (or refused at first)")
			assert.LessOrEqual(t, k.Len(), 1000)
		})
	}
}

func TestKeyedZeroPanics(t *testing.T) {
	var k limiter.Keyed[string]
	assert.PanicsWithValue(t, "limiter: Keyed used without NewKeyed", func() { k.Allow("a") })
	assert.PanicsWithValue(t, "limiter: Keyed used without NewKeyed", func() { _ = k.Wait(context.Background(), "a") })
	assert.PanicsWithValue(t, "limiter: Keyed used without NewKeyed", func() { k.Decide("a") })
}
