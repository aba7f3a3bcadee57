package pool_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/pool"
)

// session stands for a costly resource: a connection, a client, a parser.
type session struct{ id int }

func Example() {
	ctx := context.Background()
	n := 0
	p := pool.New(
		func(ctx context.Context) (*session, error) { n++; return &session{id: n}, nil },
		func(s *session) { fmt.Println("closed session", s.id) },
		pool.MaxSize(2),
	)

	// With acquires a session, runs the function, and releases it.
	for range 2 {
		err := pool.With(ctx, p, func(ctx context.Context, s *session) error {
			fmt.Println("using session", s.id)
			return nil
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	// An error matching ErrBroken destroys the session instead.
	err := pool.With(ctx, p, func(ctx context.Context, s *session) error {
		return fmt.Errorf("session %d: %w", s.id, pool.ErrBroken)
	})
	fmt.Println(err)

	st := p.Stats()
	fmt.Printf("created %d, destroyed %d, idle %d\n", st.Created, st.Destroyed, st.Idle)
	if err := p.Close(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// using session 1
	// using session 1
	// closed session 1
	// session 1: pool: resource broken
	// created 1, destroyed 1, idle 0
}

func ExamplePool_Acquire() {
	ctx := context.Background()
	n := 0
	p := pool.New(func(ctx context.Context) (int, error) { n++; return n, nil }, nil, pool.MaxSize(1))
	defer p.Close(ctx)

	r, err := p.Acquire(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("got", r.Value())

	// The pool is full: a second Acquire waits until its context ends.
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = p.Acquire(short)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	r.Release() // back to the pool, for the next Acquire
	r, _ = p.Acquire(ctx)
	fmt.Println("got", r.Value())
	r.Destroy() // broken: the next Acquire creates another
	r, _ = p.Acquire(ctx)
	fmt.Println("got", r.Value())
	r.Release()
	// Output:
	// got 1
	// true
	// got 1
	// got 2
}

func ExamplePool_Close() {
	p := pool.New(func(ctx context.Context) (int, error) { return 7, nil }, nil)
	r, _ := p.Acquire(context.Background())

	// Close does not wait past its context for a resource still in use.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	fmt.Println(p.Close(ctx))

	// Released after Close, the resource is destroyed; Close now returns nil.
	r.Release()
	fmt.Println(p.Close(context.Background()))
	_, err := p.Acquire(context.Background())
	fmt.Println(err)
	// Output:
	// pool: Close: 1 resources still out (1 in use, 0 being created, 0 being destroyed): context deadline exceeded
	// <nil>
	// pool: closed
}

func ExampleCheck() {
	ctx := context.Background()
	healthy := map[int]bool{1: true}
	n := 0
	p := pool.New(
		func(ctx context.Context) (int, error) { n++; healthy[n] = true; return n, nil },
		func(id int) { fmt.Println("destroyed", id) },
		pool.MaxSize(1),
		pool.CheckAfter(0), // check every reuse (default: after DefaultCheckAfter idle)
		pool.Check(func(ctx context.Context, id int) error {
			if !healthy[id] {
				return errors.New("ping failed")
			}
			return nil
		}),
	)
	r, _ := p.Acquire(ctx)
	r.Release()
	healthy[1] = false // the server dropped it while it was idle

	r, _ = p.Acquire(ctx) // checked, destroyed, replaced
	fmt.Println("got", r.Value())
	r.Release()
	fmt.Println("unhealthy:", p.Stats().DestroyedUnhealthy)
	_ = p.Close(ctx)
	// Output:
	// destroyed 1
	// got 2
	// unhealthy: 1
	// destroyed 2
}
