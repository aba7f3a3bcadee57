package compare

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"
	"github.com/sourcegraph/conc/pool"
	"github.com/weftgo/weft/group"
)

// The Executor scenarios: a long-lived pool of GOMAXPROCS workers with a
// queue of execQueue tasks where the library has one, fed tiny tasks. The
// floor is GOMAXPROCS goroutines reading a buffered channel of functions.
const execQueue = 1024

// execPool is one implementation of a long-lived pool for the Tiny
// scenarios: submit blocks while the pool is full; stop waits for every
// task and releases the pool.
type execPool struct {
	submit func(task func())
	stop   func()
}

// execImpls build each pool with limit workers, the way its library is
// meant to be used for fire-and-forget tasks.
var execImpls = []struct {
	name string
	new  func(limit int) execPool
}{
	{"weft", func(limit int) execPool {
		ex := group.NewExecutor(context.Background(), group.Limit(limit), group.Queue(execQueue))
		ctx := context.Background()
		return execPool{
			submit: func(task func()) {
				// The task is a func() as the peers take it: wrapping it is
				// the caller's closure, one allocation, as for conc.
				_ = ex.Submit(ctx, func(context.Context) error { task(); return nil })
			},
			stop: func() { _ = ex.Shutdown(ctx) },
		}
	}},
	{"ants", func(limit int) execPool {
		p, err := ants.NewPool(limit)
		if err != nil {
			panic(err)
		}
		return execPool{
			submit: func(task func()) { _ = p.Submit(task) },
			stop:   func() { _ = p.ReleaseTimeout(10 * time.Second) },
		}
	}},
	{"pond", func(limit int) execPool {
		p := pond.NewPool(limit, pond.WithQueueSize(execQueue))
		return execPool{
			submit: func(task func()) { _ = p.Go(task) },
			stop:   p.StopAndWait,
		}
	}},
	{"conc", func(limit int) execPool {
		p := pool.New().WithMaxGoroutines(limit)
		return execPool{submit: p.Go, stop: p.Wait}
	}},
	{"floor", func(limit int) execPool {
		ch := make(chan func(), execQueue)
		var wg sync.WaitGroup
		for range limit {
			wg.Go(func() {
				for task := range ch {
					task()
				}
			})
		}
		return execPool{
			submit: func(task func()) { ch <- task },
			stop:   func() { close(ch); wg.Wait() },
		}
	}},
}

// BenchmarkExecutorTiny submits b.N tiny fire-and-forget tasks from one
// goroutine to a pool of GOMAXPROCS workers and waits for them. For weft the
// task is a func(context.Context) error given directly, as its users write
// it: no wrapper.
func BenchmarkExecutorTiny(b *testing.B) {
	limit := runtime.GOMAXPROCS(0)
	for _, impl := range execImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			if impl.name == "weft" {
				ex := group.NewExecutor(context.Background(), group.Limit(limit), group.Queue(execQueue))
				ctx := context.Background()
				task := func(context.Context) error { sink.Add(1); return nil }
				for b.Loop() {
					_ = ex.Submit(ctx, task)
				}
				_ = ex.Shutdown(ctx)
			} else {
				p := impl.new(limit)
				task := func() { sink.Add(1) }
				for b.Loop() {
					p.submit(task)
				}
				p.stop()
			}
			if sink.Load() != int64(b.N) {
				b.Fatalf("%d tasks ran, want %d", sink.Load(), b.N)
			}
		})
	}
}

// BenchmarkExecutorTinyParallel is BenchmarkExecutorTiny with GOMAXPROCS
// submitters.
func BenchmarkExecutorTinyParallel(b *testing.B) {
	limit := runtime.GOMAXPROCS(0)
	for _, impl := range execImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			var sink atomic.Int64
			if impl.name == "weft" {
				ex := group.NewExecutor(context.Background(), group.Limit(limit), group.Queue(execQueue))
				ctx := context.Background()
				task := func(context.Context) error { sink.Add(1); return nil }
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_ = ex.Submit(ctx, task)
					}
				})
				_ = ex.Shutdown(ctx)
			} else {
				p := impl.new(limit)
				task := func() { sink.Add(1) }
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						p.submit(task)
					}
				})
				p.stop()
			}
			if sink.Load() != int64(b.N) {
				b.Fatalf("%d tasks ran, want %d", sink.Load(), b.N)
			}
		})
	}
}

// TestExecutorTinyAgree checks that every pool of the Tiny scenarios runs
// each task exactly once, from one and from several submitters.
func TestExecutorTinyAgree(t *testing.T) {
	const n, submitters = 5000, 4
	for _, impl := range execImpls {
		p := impl.new(runtime.GOMAXPROCS(0))
		runs := make([]atomic.Int32, n)
		var wg sync.WaitGroup
		for s := range submitters {
			wg.Go(func() {
				for i := s; i < n; i += submitters {
					p.submit(func() { runs[i].Add(1) })
				}
			})
		}
		wg.Wait()
		p.stop()
		for i := range runs {
			if got := runs[i].Load(); got != 1 {
				t.Fatalf("%s: task %d ran %d times", impl.name, i, got)
			}
		}
	}
}

// rejecting is one implementation of a pool whose workers are all busy and
// whose queue is full: try attempts one more task and reports whether it
// was refused.
type rejecting struct {
	try  func() bool
	stop func()
}

// rejectImpls build full pools of one worker and a queue of one task. conc
// has no rejecting path.
var rejectImpls = []struct {
	name string
	new  func() rejecting
}{
	{"weft", func() rejecting {
		ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
		release := make(chan struct{})
		block := func(context.Context) error { <-release; return nil }
		_ = ex.TrySubmit(block)
		_ = ex.TrySubmit(block)
		nop := func(context.Context) error { return nil }
		return rejecting{
			try:  func() bool { return ex.TrySubmit(nop) == group.ErrFull },
			stop: func() { close(release); _ = ex.Shutdown(context.Background()) },
		}
	}},
	{"ants", func() rejecting {
		p, err := ants.NewPool(1, ants.WithNonblocking(true))
		if err != nil {
			panic(err)
		}
		release := make(chan struct{})
		started := make(chan struct{})
		_ = p.Submit(func() { close(started); <-release })
		<-started
		nop := func() {}
		return rejecting{
			try:  func() bool { return p.Submit(nop) == ants.ErrPoolOverload },
			stop: func() { close(release); _ = p.ReleaseTimeout(10 * time.Second) },
		}
	}},
	{"pond", func() rejecting {
		p := pond.NewPool(1, pond.WithQueueSize(1))
		release := make(chan struct{})
		block := func() { <-release }
		p.Submit(block)
		p.Submit(block)
		nop := func() {}
		return rejecting{
			try: func() bool {
				_, ok := p.TrySubmit(nop)
				return !ok
			},
			stop: func() { close(release); p.StopAndWait() },
		}
	}},
	{"floor", func() rejecting {
		ch := make(chan func(), 1)
		release := make(chan struct{})
		started := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for task := range ch {
				task()
			}
		}()
		ch <- func() { close(started); <-release }
		<-started
		ch <- func() {}
		nop := func() {}
		return rejecting{
			try: func() bool {
				select {
				case ch <- nop:
					return false
				default:
					return true
				}
			},
			stop: func() { close(release); close(ch); <-done },
		}
	}},
}

// BenchmarkExecutorTrySubmitFull measures the rejecting path: a task
// offered to a pool whose workers are busy and whose queue is full.
func BenchmarkExecutorTrySubmitFull(b *testing.B) {
	for _, impl := range rejectImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			r := impl.new()
			defer r.stop()
			for b.Loop() {
				if !r.try() {
					b.Fatal("accepted a task while full")
				}
			}
		})
	}
}

// BenchmarkExecutorTrySubmitFullParallel is BenchmarkExecutorTrySubmitFull
// from GOMAXPROCS goroutines at once, as when every request handler of a
// service sheds load at the same moment.
func BenchmarkExecutorTrySubmitFullParallel(b *testing.B) {
	for _, impl := range rejectImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			r := impl.new()
			defer r.stop()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !r.try() {
						panic("accepted a task while full")
					}
				}
			})
		})
	}
}

// TestExecutorTrySubmitFullAgree checks that every full pool refuses.
func TestExecutorTrySubmitFullAgree(t *testing.T) {
	for _, impl := range rejectImpls {
		r := impl.new()
		for range 100 {
			if !r.try() {
				t.Errorf("%s: accepted a task while full", impl.name)
				break
			}
		}
		r.stop()
	}
}

// futurePool is one implementation of the Future scenario: call submits a
// task computing a value to the pool and waits for it.
type futurePool struct {
	call func(v int) int
	stop func()
}

// futureImpls: weft's SubmitFunc and Future.Wait, pond's result pool
// (Submit and Wait), ants with a result channel, and the floor: a buffered
// channel of functions and a result channel.
var futureImpls = []struct {
	name string
	new  func(limit int) futurePool
}{
	{"weft", func(limit int) futurePool {
		ex := group.NewExecutor(context.Background(), group.Limit(limit), group.Queue(execQueue))
		ctx := context.Background()
		return futurePool{
			call: func(v int) int {
				f, err := group.SubmitFunc(ctx, ex, func(context.Context) (int, error) { return v + 1, nil })
				if err != nil {
					panic(err)
				}
				r, _ := f.Wait(ctx)
				return r
			},
			stop: func() { _ = ex.Shutdown(ctx) },
		}
	}},
	{"pond", func(limit int) futurePool {
		p := pond.NewResultPool[int](limit, pond.WithQueueSize(execQueue))
		return futurePool{
			call: func(v int) int {
				r, _ := p.Submit(func() int { return v + 1 }).Wait()
				return r
			},
			stop: p.StopAndWait,
		}
	}},
	{"ants", func(limit int) futurePool {
		p, err := ants.NewPool(limit)
		if err != nil {
			panic(err)
		}
		return futurePool{
			call: func(v int) int {
				ch := make(chan int, 1)
				_ = p.Submit(func() { ch <- v + 1 })
				return <-ch
			},
			stop: func() { _ = p.ReleaseTimeout(10 * time.Second) },
		}
	}},
	{"floor", func(limit int) futurePool {
		ch := make(chan func(), execQueue)
		var wg sync.WaitGroup
		for range limit {
			wg.Go(func() {
				for task := range ch {
					task()
				}
			})
		}
		return futurePool{
			call: func(v int) int {
				res := make(chan int, 1)
				ch <- func() { res <- v + 1 }
				return <-res
			},
			stop: func() { close(ch); wg.Wait() },
		}
	}},
}

// BenchmarkExecutorFuture submits a task that computes a value and waits
// for the value, from GOMAXPROCS goroutines.
func BenchmarkExecutorFuture(b *testing.B) {
	limit := runtime.GOMAXPROCS(0)
	for _, impl := range futureImpls {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			p := impl.new(limit)
			defer p.stop()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if p.call(i) != i+1 {
						panic("wrong value")
					}
					i++
				}
			})
		})
	}
}

// TestExecutorFutureAgree checks that every implementation returns each
// task's value to its caller.
func TestExecutorFutureAgree(t *testing.T) {
	for _, impl := range futureImpls {
		p := impl.new(runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		for s := range 4 {
			wg.Go(func() {
				for i := s * 1000; i < s*1000+500; i++ {
					if got := p.call(i); got != i+1 {
						t.Errorf("%s: call(%d) = %d", impl.name, i, got)
						return
					}
				}
			})
		}
		wg.Wait()
		p.stop()
	}
}
