package stripe_test

import (
	"math/bits"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/stripe"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCount(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 16, 100} {
		old := runtime.GOMAXPROCS(procs)
		n := stripe.Count()
		runtime.GOMAXPROCS(old)
		if bits.OnesCount(uint(n)) != 1 || n > 64 || (n < 4*procs && n != 64) {
			t.Errorf("GOMAXPROCS %d: Count() = %d, want a power of two >= 4*GOMAXPROCS, at most 64", procs, n)
		}
	}
}

func TestIndexInRangeAndStable(t *testing.T) {
	for _, mask := range []uint32{0, 1, 7, 63} {
		i := stripe.Index(mask)
		if i < 0 || i > int(mask) {
			t.Fatalf("Index(%d) = %d, out of range", mask, i)
		}
		if j := stripe.Index(mask); j != i {
			t.Fatalf("Index(%d) = %d then %d in one goroutine", mask, i, j)
		}
	}
}

func TestIndexSpreads(t *testing.T) {
	// 64 goroutines alive at once, hashed into 64 stripes: a uniform pick
	// uses about 40 distinct stripes; fewer than 16 means they bunch up.
	const goroutines = 64
	picks := make(chan int, goroutines)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			picks <- stripe.Index(63)
			<-release
		})
	}
	seen := make(map[int]bool)
	for range goroutines {
		seen[<-picks] = true
	}
	close(release)
	wg.Wait()
	if len(seen) < goroutines/4 {
		t.Errorf("%d goroutines alive at once used only %d of 64 stripes", goroutines, len(seen))
	}
}

func TestCounter(t *testing.T) {
	c := stripe.NewCounter()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add(int64(g))
			}
			c.Add(-1)
		})
	}
	wg.Wait()
	if got, want := c.Load(), int64(1000*(0+1+2+3+4+5+6+7)-8); got != want {
		t.Fatalf("Load() = %d, want %d", got, want)
	}
}
