package compare

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/pool"
	"github.com/weftgo/weft/group"
	"golang.org/x/sync/errgroup"
)

var groupSizes = []int{10, 1000}

// BenchmarkGroupGoWait starts n trivial tasks and waits for them, with no
// limit on concurrency (scenario 1). floor is go plus sync.WaitGroup with
// the task written inside the goroutine's closure; floorfn is the same for
// a task given as a function value, as every Go(fn) API receives it: the
// caller's closure is then one more allocation. floorsafe is floorfn plus
// what weft's contract costs at least: a context to cancel (errgroup's
// WithContext has one too) and, per task, a check that it has not ended, a
// deferred recover and the two counts behind Stats.
func BenchmarkGroupGoWait(b *testing.B) {
	for _, n := range groupSizes {
		b.Run(fmt.Sprintf("n=%d/weft", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				g := group.New(context.Background())
				for i := range n {
					g.Go(func(context.Context) error { sink.Add(int64(i)); return nil })
				}
				_ = g.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/floor", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() { defer wg.Done(); sink.Add(int64(i)) }()
				}
				wg.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/floorfn", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				var wg sync.WaitGroup
				for i := range n {
					goFunc(&wg, func() { sink.Add(int64(i)) })
				}
				wg.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/floorsafe", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				c := newSafeCounts()
				for i := range n {
					goSafe(c, func() { sink.Add(int64(i)) })
				}
				c.wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/errgroup", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				g, _ := errgroup.WithContext(context.Background())
				for i := range n {
					g.Go(func() error { sink.Add(int64(i)); return nil })
				}
				_ = g.Wait()
			}
		})
		b.Run(fmt.Sprintf("n=%d/conc", n), func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			for b.Loop() {
				var wg conc.WaitGroup
				for i := range n {
					wg.Go(func() { sink.Add(int64(i)) })
				}
				wg.Wait()
			}
		})
	}
}

// goFunc runs fn in a new goroutine counted in wg: the least a Go(fn) call
// can do.
//
//go:noinline
func goFunc(wg *sync.WaitGroup, fn func()) {
	wg.Add(1)
	go func() { defer wg.Done(); fn() }()
}

// safeCounts is what goSafe keeps: a context to cancel, the tasks started
// and ended (for a Stats snapshot) and the WaitGroup.
type safeCounts struct {
	ctx            context.Context
	cancel         context.CancelCauseFunc
	wg             sync.WaitGroup
	started, ended atomic.Int64
}

func newSafeCounts() *safeCounts {
	c := &safeCounts{}
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	return c
}

func (c *safeCounts) wait() {
	c.wg.Wait()
	c.cancel(nil)
}

// goSafe is goFunc with the least that a task group with weft's contract
// adds, as errgroup.WithContext adds a context: a check that the context
// has not ended, the two counts, and a deferred recover that stops a panic
// (weft then records it with its stack; no task panics here).
//
//go:noinline
func goSafe(c *safeCounts, fn func()) {
	if c.ctx.Err() != nil {
		return
	}
	c.wg.Add(1)
	c.started.Add(1)
	go func() {
		defer func() {
			_ = recover()
			c.ended.Add(1)
			c.wg.Done()
		}()
		fn()
	}()
}

// TestGroupGoWaitAgree checks that every implementation of the GoWait
// scenario runs each task exactly once.
func TestGroupGoWaitAgree(t *testing.T) {
	const n = 1000
	want := int64(n * (n - 1) / 2)
	var floor, wf, eg, cc atomic.Int64

	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); floor.Add(int64(i)) }()
	}
	wg.Wait()

	wg2 := group.New(context.Background())
	for i := range n {
		wg2.Go(func(context.Context) error { wf.Add(int64(i)); return nil })
	}
	if err := wg2.Wait(); err != nil {
		t.Fatal(err)
	}

	g, _ := errgroup.WithContext(context.Background())
	for i := range n {
		g.Go(func() error { eg.Add(int64(i)); return nil })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	var cw conc.WaitGroup
	for i := range n {
		cw.Go(func() { cc.Add(int64(i)) })
	}
	cw.Wait()

	for name, got := range map[string]int64{"floor": floor.Load(), "weft": wf.Load(), "errgroup": eg.Load(), "conc": cc.Load()} {
		if got != want {
			t.Errorf("%s: sum = %d, want %d", name, got, want)
		}
	}
}

// limitedImpls run n tasks with at most limit running at once and wait for
// them, each the way its library is meant to be used. floor is plain
// goroutines with no limit: the cost of the tasks without any bound.
var limitedImpls = []struct {
	name string
	run  func(n, limit int, task func(i int))
}{
	{"weft", func(n, limit int, task func(int)) {
		g := group.New(context.Background(), group.Limit(limit))
		for i := range n {
			g.Go(func(context.Context) error { task(i); return nil })
		}
		_ = g.Wait()
	}},
	{"floor", func(n, _ int, task func(int)) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); task(i) }()
		}
		wg.Wait()
	}},
	{"errgroup", func(n, limit int, task func(int)) {
		g, _ := errgroup.WithContext(context.Background())
		g.SetLimit(limit)
		for i := range n {
			g.Go(func() error { task(i); return nil })
		}
		_ = g.Wait()
	}},
	{"conc", func(n, limit int, task func(int)) {
		p := pool.New().WithMaxGoroutines(limit)
		for i := range n {
			p.Go(func() { task(i) })
		}
		p.Wait()
	}},
}

// BenchmarkGroupLimit runs 100k trivial tasks with the limit at GOMAXPROCS
// (scenario 2): the cost of the bound itself.
func BenchmarkGroupLimit(b *testing.B) {
	const n = 100_000
	for _, impl := range limitedImpls {
		b.Run("n=100k/"+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			task := func(i int) { sink.Add(int64(i)) }
			for b.Loop() {
				impl.run(n, runtime.GOMAXPROCS(0), task)
			}
		})
	}
}

// spin burns CPU time in proportion to iters, as a CPU-bound task would, and returns a
// value the compiler cannot drop.
func spin(iters int) uint64 {
	x := uint64(iters)
	for range iters {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// spinIters is the number of spin iterations taking about 4µs, measured
// once (best of a few probes, so a busy machine does not shrink it).
var spinIters = sync.OnceValue(func() int {
	const probe = 1 << 20
	best := time.Duration(1<<63 - 1)
	for range 5 {
		start := time.Now()
		spinSink.Store(spin(probe))
		best = min(best, time.Since(start))
	}
	return max(1, int(4*time.Microsecond*probe/best))
})

var spinSink atomic.Uint64

// BenchmarkGroupCPU runs 1k CPU-bound tasks of about 4µs each with the limit
// at GOMAXPROCS (scenario 3): how much of the machine each bound lets the
// tasks use. serial runs them one after another in the caller, as the
// reference a parallel run must beat.
func BenchmarkGroupCPU(b *testing.B) {
	const n = 1000
	iters := spinIters()
	task := func(int) { spinSink.Add(spin(iters)) }
	for _, impl := range limitedImpls {
		if impl.name == "floor" {
			continue
		}
		b.Run("n=1k/"+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.run(n, runtime.GOMAXPROCS(0), task)
			}
		})
	}
	b.Run("n=1k/serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range n {
				task(i)
			}
		}
	})
}

// TestGroupLimitAgree checks that every limited implementation runs each task
// exactly once and never more than limit at a time.
func TestGroupLimitAgree(t *testing.T) {
	const n, limit = 10_000, 3
	want := int64(n * (n - 1) / 2)
	for _, impl := range limitedImpls {
		var sum, running, peak atomic.Int64
		impl.run(n, limit, func(i int) {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			sum.Add(int64(i))
			running.Add(-1)
		})
		if got := sum.Load(); got != want {
			t.Errorf("%s: sum = %d, want %d", impl.name, got, want)
		}
		if p := peak.Load(); impl.name != "floor" && p > limit {
			t.Errorf("%s: %d tasks ran at once, limit %d", impl.name, p, limit)
		}
	}
}
