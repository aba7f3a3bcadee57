package compare

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/time/rate"

	"github.com/weftgo/weft/limiter"
)

const keyedKeys = 10_000

// keyedNames are the keys of the Keyed scenarios, as a per-user limiter sees
// them.
var keyedNames = func() []string {
	names := make([]string, keyedKeys)
	for i := range names {
		names[i] = "user-" + strconv.Itoa(i)
	}
	return names
}()

// keyedXrate is what people write with x/time/rate: a map of limiters under
// a mutex, a limiter created on a key's first use. It never forgets a key.
type keyedXrate struct {
	mu        sync.Mutex
	m         map[string]*rate.Limiter
	perSecond rate.Limit
	burst     int
}

func (k *keyedXrate) Allow(key string) bool {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = rate.NewLimiter(k.perSecond, k.burst)
		k.m[key] = l
	}
	k.mu.Unlock()
	return l.Allow()
}

// keyedImpl returns implementation name's Allow(key) with perSecond and
// burst per key. The floor is a look-up in a read-only map of every key's
// limiter, made in advance, and one weft Rate.Allow: the work any per-key
// limiter does, with no lock, no new keys and no bound on memory.
func keyedImpl(name string, perSecond float64, burst int) func(string) bool {
	switch name {
	case "weft":
		return limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(perSecond, burst) },
			limiter.MaxKeys(2*keyedKeys)).Allow
	case "xrate":
		return (&keyedXrate{m: map[string]*rate.Limiter{}, perSecond: rate.Limit(perSecond), burst: burst}).Allow
	case "floor":
		floor := make(map[string]*limiter.Rate, keyedKeys)
		for _, n := range keyedNames {
			floor[n] = limiter.NewRate(perSecond, burst)
		}
		return func(key string) bool { return floor[key].Allow() }
	}
	panic("no keyed implementation " + name)
}

var keyedImplNames = []string{"weft", "floor", "xrate"}

// BenchmarkKeyedAllow admits events over 10,000 keys, each key a limiter of
// one event per second with a burst no benchmark exhausts, from one goroutine
// and from GOMAXPROCS goroutines. Keys are visited in a scattered order, all
// created before timing starts.
func BenchmarkKeyedAllow(b *testing.B) {
	for _, par := range []bool{false, true} {
		for _, name := range keyedImplNames {
			allow := keyedImpl(name, 1, 1<<30)
			for _, n := range keyedNames {
				allow(n)
			}
			runtime.GC() // leave no garbage of the set-up to collect while timing
			sub := "single/" + name
			if par {
				sub = "parallel/" + name
			}
			b.Run(sub, func(b *testing.B) {
				b.ReportAllocs()
				if !par {
					i := 0
					for b.Loop() {
						allow(keyedNames[i%keyedKeys])
						i += 7919
					}
					return
				}
				var seed atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := int(seed.Add(1)) * 1237
					for pb.Next() {
						allow(keyedNames[i%keyedKeys])
						i += 7919
					}
				})
			})
		}
	}
}

// TestKeyedAgree checks that every implementation admits each key's burst
// and no more.
func TestKeyedAgree(t *testing.T) {
	const burst = 3
	for _, name := range keyedImplNames {
		allow := keyedImpl(name, 1e-6, burst)
		for _, n := range keyedNames[:500] {
			admitted := 0
			for range 2 * burst {
				if allow(n) {
					admitted++
				}
			}
			if admitted != burst {
				t.Fatalf("%s admitted %d events for %s, want %d", name, admitted, n, burst)
			}
		}
	}
}
