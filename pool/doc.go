// Package pool keeps costly resources (connections, clients, sessions, large
// buffers) for reuse, and makes sure every one of them is cleaned up on
// success, error, panic, cancellation and shutdown.
//
// A Pool is built once with New from a create and a destroy function:
//
//	p := pool.New(
//		func(ctx context.Context) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) },
//		func(c net.Conn) { c.Close() },
//		pool.MaxSize(20), pool.MinIdle(2), pool.IdleTTL(time.Minute), pool.MaxLifetime(time.Hour),
//		pool.Check(func(ctx context.Context, c net.Conn) error { return ping(ctx, c) }),
//	)
//	defer p.Close(ctx)
//
// With is the context-manager form: it acquires a resource, runs a function
// with it, and releases it, or destroys it when the function panics or
// returns an error matching ErrBroken:
//
//	err := pool.With(ctx, p, func(ctx context.Context, c net.Conn) error { ... })
//
// Acquire, Release and Destroy are the steps it is made of.
//
// # Guarantees
//
//   - Acquire never hangs past its context. Waiting callers are served in
//     the order they arrived. A create started for a caller that gave up
//     keeps running, and its resource goes to the next caller or to the pool:
//     nothing is built twice for one caller, and nothing leaks.
//   - No stampede: the pool creates at most as many resources as callers
//     are waiting for, within MaxSize, and the MinIdle refill creates one at
//     a time. A failing create's error goes to the caller it was started
//     for; the callers behind it keep their places.
//   - Close never hangs past its context: it fails waiting callers at once,
//     destroys idle resources, cancels creates in flight, and waits for
//     resources in use until its context ends, then says how many are out.
//     Those are destroyed when they come back.
//   - Every resource created is destroyed exactly once, by the goroutine
//     that gives it up (Destroy, a Release after Close, a failed Check),
//     by Close, or by the background goroutine (IdleTTL, MaxLifetime).
//   - A pool with MinIdle, IdleTTL or MaxLifetime runs one background
//     goroutine, which has returned by the time Close returns nil.
//   - Acquire and Release of an idle resource take one lock each and do not
//     allocate; they read the clock only when IdleTTL, MaxLifetime or Check
//     is set.
//
// # Misuse
//
// As everywhere in this module, bad configuration panics at once, naming the
// option and its value (MaxSize(0), MinIdle above MaxSize, a nil create
// function); programmer errors at call time panic with a message that starts
// with "pool:" (a nil context, a nil function, a Release or Destroy of a
// resource no longer in use, a Pool not made by New); conditions that happen
// in correct programs (closed, cancelled) are errors. The Pool's zero value
// is not usable: it panics with "pool: Pool used without New".
package pool
