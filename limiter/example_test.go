package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/weftgo/weft/limiter"
)

// A semaphore bounds the memory used by concurrent jobs: each job acquires
// as many permits as the megabytes it needs.
func ExampleSemaphore() {
	ctx := context.Background()
	mem := limiter.NewSemaphore(100) // 100 MB

	var wg sync.WaitGroup
	for _, mb := range []int64{60, 30, 80, 10} {
		wg.Go(func() {
			if err := mem.Acquire(ctx, mb); err != nil {
				return
			}
			defer mem.Release(mb)
			// ... a job using mb megabytes ...
		})
	}
	wg.Wait()

	// A job that could never fit fails at once instead of waiting forever.
	err := mem.Acquire(ctx, 150)
	fmt.Println(errors.Is(err, limiter.ErrTooLarge))
	st := mem.Stats()
	fmt.Printf("limit %d, held %d, waiters %d\n", st.Limit, st.Held, st.Waiters)
	// Output:
	// true
	// limit 100, held 0, waiters 0
}

// SetLimit resizes a semaphore while it is in use: growing it admits the
// waiters that now fit at once.
func ExampleSemaphore_SetLimit() {
	ctx := context.Background()
	s := limiter.NewSemaphore(1)
	_ = s.Acquire(ctx, 1)

	admitted := make(chan struct{})
	go func() {
		_ = s.Acquire(ctx, 1) // waits: the only permit is held
		close(admitted)
	}()
	for s.Stats().Waiters == 0 {
		runtime.Gosched() // wait until the goroutine is queued
	}
	s.SetLimit(2)
	<-admitted
	st := s.Stats()
	fmt.Printf("limit %d, held %d, waiters %d, waited %d\n", st.Limit, st.Held, st.Waiters, st.WaitCount)
	// Output:
	// limit 2, held 2, waiters 0, waited 1
}

// A bulkhead runs at most 2 calls at once with 1 more waiting; a caller
// arriving when both are taken is turned away with ErrFull.
func ExampleBulkhead() {
	ctx := context.Background()
	b := limiter.NewBulkhead(2, 1)

	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			_ = b.Do(ctx, func(context.Context) error { <-release; return nil })
		})
	}
	for st := b.Stats(); st.Running+st.Queued < 3; st = b.Stats() {
		runtime.Gosched() // wait until two calls run and one is queued
	}

	err := b.Do(ctx, func(context.Context) error { return nil })
	fmt.Println(err)
	close(release)
	wg.Wait()
	st := b.Stats()
	fmt.Printf("running %d, queued %d, rejected %d, completed %d, waited %d\n",
		st.Running, st.Queued, st.Rejected, st.Completed, st.WaitCount)
	// Output:
	// limiter: bulkhead full
	// running 0, queued 0, rejected 1, completed 3, waited 1
}

// An adaptive limit wraps calls to a backend: done reports each outcome, and
// the limit backs off when the backend fails.
func ExampleAdaptive() {
	a := limiter.NewAdaptive(
		limiter.InitialLimit(10),
		limiter.OnLimitChange(func(old, new int) { fmt.Println("limit", old, "->", new) }),
	)
	call := func(backend func() error) error {
		done, err := a.Acquire(context.Background())
		if err != nil {
			return err
		}
		err = backend()
		done(err)
		return err
	}

	_ = call(func() error { return nil })
	_ = call(func() error { return errors.New("503 Service Unavailable") })
	fmt.Println("limit now", a.Limit())
	// Output:
	// limit 10 -> 9
	// limit now 9
}
