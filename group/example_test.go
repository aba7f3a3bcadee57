package group_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/weftgo/weft/group"
)

func ExampleNew() {
	g := group.New(context.Background())
	var total atomic.Int64
	for _, n := range []int64{1, 2, 3} {
		g.Go(func(ctx context.Context) error {
			total.Add(n)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Println("error:", err)
	}
	fmt.Println(total.Load())
	// Output: 6
}

func ExampleGroup_Wait_firstError() {
	g := group.New(context.Background())
	g.GoNamed("fetch users", func(ctx context.Context) error {
		return errors.New("connection refused")
	})
	g.Go(func(ctx context.Context) error {
		<-ctx.Done() // cancelled by the sibling's error
		return ctx.Err()
	})
	fmt.Println(g.Wait())
	// Output: group: task "fetch users": connection refused
}

func ExampleLimit() {
	g := group.New(context.Background(), group.Limit(2))
	var running, peak atomic.Int64
	for range 10 {
		g.Go(func(ctx context.Context) error { // blocks while 2 tasks run
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			running.Add(-1)
			return nil
		})
	}
	_ = g.Wait()
	fmt.Println(peak.Load() <= 2, g.Stats().Started)
	// Output: true 10
}

func ExampleKeepGoing() {
	g := group.New(context.Background(), group.KeepGoing(), group.Limit(1))
	for _, name := range []string{"a", "b", "c"} {
		g.Go(func(ctx context.Context) error {
			if name == "b" {
				return nil
			}
			return fmt.Errorf("%s failed", name)
		})
	}
	fmt.Println(g.Wait())
	// Output:
	// a failed
	// c failed
}

func ExamplePanicAsError() {
	g := group.New(context.Background(), group.PanicAsError())
	g.Go(func(ctx context.Context) error {
		panic("out of range")
	})
	var pe *group.PanicError
	if errors.As(g.Wait(), &pe) {
		fmt.Println("recovered:", pe.Value)
	}
	// Output: recovered: out of range
}

func ExampleNewResults() {
	rg := group.NewResults[string](context.Background(), group.Limit(4))
	for _, id := range []int{3, 1, 2} {
		rg.Go(func(ctx context.Context) (string, error) {
			return fmt.Sprintf("user-%d", id), nil
		})
	}
	users, err := rg.Wait()
	fmt.Println(users, err)
	// Output: [user-3 user-1 user-2] <nil>
}

func ExampleGroup_Start() {
	g := group.New(context.Background())
	requests := make(chan string)
	err := g.Start(func(ctx context.Context, ready func()) error {
		ready() // e.g. once the listener is open
		for {
			select {
			case r := <-requests:
				fmt.Println("served", r)
			case <-ctx.Done():
				return nil
			}
		}
	})
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	requests <- "/health" // the server is known to be running
	g.Cancel(nil)
	fmt.Println(g.Wait())
	// Output:
	// served /health
	// <nil>
}
