package compare

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/puddle/v2"

	"github.com/weftgo/weft/pool"
)

// The Pool scenarios compare weft's pool with jackc/puddle v2 (the pool
// under pgx). silenceper/pool is not served by the module proxy (403), so it
// is left out. The floor is a buffered channel of resources: no context, no
// creation, no stats, no Close.

// poolSize is the MaxSize of the pools in the Pool scenarios.
const poolSize = 4

// poolRes is the pooled resource: a pointer, as a connection would be.
type poolRes struct{ n int }

// poolImpl is what the Pool scenarios need from an implementation: acquire
// a resource and return a function that gives it back.
type poolImpl interface {
	get(ctx context.Context) (*poolRes, func(), error)
	close()
}

// newPoolImpls returns each implementation with a size of poolSize; create
// counts the resources they make.
func newPoolImpls(created *atomic.Int64) map[string]poolImpl {
	create := func(context.Context) (*poolRes, error) {
		return &poolRes{n: int(created.Add(1))}, nil
	}
	wp := pool.New(create, nil, pool.MaxSize(poolSize))
	pp, err := puddle.NewPool(&puddle.Config[*poolRes]{
		Constructor: create,
		Destructor:  func(*poolRes) {},
		MaxSize:     poolSize,
	})
	if err != nil {
		panic(err)
	}
	return map[string]poolImpl{
		"floor":  newFloorPool(create),
		"weft":   weftPool{wp},
		"puddle": puddlePool{pp},
	}
}

type weftPool struct{ p *pool.Pool[*poolRes] }

func (w weftPool) get(ctx context.Context) (*poolRes, func(), error) {
	r, err := w.p.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return r.Value(), r.Release, nil
}
func (w weftPool) close() { _ = w.p.Close(context.Background()) }

type puddlePool struct{ p *puddle.Pool[*poolRes] }

func (p puddlePool) get(ctx context.Context) (*poolRes, func(), error) {
	r, err := p.p.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	return r.Value(), r.Release, nil
}
func (p puddlePool) close() { p.p.Close() }

// floorPool is the floor: a buffered channel holding poolSize resources,
// made up front.
type floorPool chan *poolRes

func newFloorPool(create func(context.Context) (*poolRes, error)) floorPool {
	ch := make(floorPool, poolSize)
	for range poolSize {
		r, _ := create(context.Background())
		ch <- r
	}
	return ch
}

func (f floorPool) get(context.Context) (*poolRes, func(), error) {
	r := <-f
	return r, func() { f <- r }, nil
}
func (f floorPool) close() {}

// BenchmarkPoolAcquireRelease acquires and releases an idle resource of a
// pool of 4 from one goroutine. Each implementation is called through its
// concrete type, as a user would.
func BenchmarkPoolAcquireRelease(b *testing.B) {
	ctx := context.Background()
	create := func(context.Context) (*poolRes, error) { return &poolRes{}, nil }
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		ch := newFloorPool(create)
		for b.Loop() {
			r := <-ch
			ch <- r
		}
	})
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		p := pool.New(create, nil, pool.MaxSize(poolSize))
		defer p.Close(ctx)
		for b.Loop() {
			r, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			r.Release()
		}
	})
	b.Run("puddle", func(b *testing.B) {
		b.ReportAllocs()
		p, _ := puddle.NewPool(&puddle.Config[*poolRes]{Constructor: create, Destructor: func(*poolRes) {}, MaxSize: poolSize})
		defer p.Close()
		for b.Loop() {
			r, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			r.Release()
		}
	})
}

// BenchmarkPoolParallel acquires and releases from GOMAXPROCS goroutines at
// once over a pool of 4: with more than 4 goroutines, callers wait and each
// release hands a resource to a waiting caller.
func BenchmarkPoolParallel(b *testing.B) {
	ctx := context.Background()
	create := func(context.Context) (*poolRes, error) { return &poolRes{}, nil }
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		ch := newFloorPool(create)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := <-ch
				ch <- r
			}
		})
	})
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		p := pool.New(create, nil, pool.MaxSize(poolSize))
		defer p.Close(ctx)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Release()
			}
		})
	})
	b.Run("puddle", func(b *testing.B) {
		b.ReportAllocs()
		p, _ := puddle.NewPool(&puddle.Config[*poolRes]{Constructor: create, Destructor: func(*poolRes) {}, MaxSize: poolSize})
		defer p.Close()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				r.Release()
			}
		})
	})
}

// TestPoolAcquireReleaseAgree checks the AcquireRelease scenario: from one
// goroutine weft and puddle hand back the same resource each time and
// create no other (the floor's channel rotates through its four).
func TestPoolAcquireReleaseAgree(t *testing.T) {
	var created atomic.Int64
	for name, p := range newPoolImpls(&created) {
		before := created.Load()
		first, release, err := p.get(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		release()
		for range 100 {
			r, release, err := p.get(context.Background())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if r != first && name != "floor" { // a channel is FIFO: it rotates
				t.Errorf("%s: got resource %d, want the idle %d", name, r.n, first.n)
			}
			release()
		}
		if name != "floor" && created.Load()-before != 1 {
			t.Errorf("%s: %d resources created, want 1", name, created.Load()-before)
		}
		p.close()
	}
}

// TestPoolParallelAgree checks the Parallel scenario: with 8 goroutines on
// a pool of 4, every implementation serves every acquire, never hands one
// resource to two callers at once, and creates at most 4 resources.
func TestPoolParallelAgree(t *testing.T) {
	const (
		workers = 8
		loops   = 500
	)
	var created atomic.Int64
	for name, p := range newPoolImpls(&created) {
		before := created.Load()
		var inUse, peak, total atomic.Int64
		var holders sync.Map // *poolRes -> struct{}: held now
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range loops {
					r, release, err := p.get(context.Background())
					if err != nil {
						t.Errorf("%s: %v", name, err)
						return
					}
					if _, dup := holders.LoadOrStore(r, struct{}{}); dup {
						t.Errorf("%s: resource %d handed to two callers", name, r.n)
					}
					n := inUse.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					total.Add(1)
					inUse.Add(-1)
					holders.Delete(r)
					release()
				}
			})
		}
		wg.Wait()
		if peak.Load() > poolSize {
			t.Errorf("%s: %d resources in use at once, size %d", name, peak.Load(), poolSize)
		}
		if total.Load() != workers*loops {
			t.Errorf("%s: %d acquisitions, want %d", name, total.Load(), workers*loops)
		}
		if name != "floor" && created.Load()-before > poolSize {
			t.Errorf("%s: %d resources created, want at most %d", name, created.Load()-before, poolSize)
		}
		p.close()
	}
}
