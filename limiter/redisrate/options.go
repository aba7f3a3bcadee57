package redisrate

import (
	"fmt"
	"time"
)

// Option configures a limiter created by [NewRate] or [NewKeyed].
type Option func(*config)

// config holds the options, as set by the caller.
type config struct {
	timeout  time.Duration
	failOpen bool
	onError  []func(error)
	lease    int
}

// defaultTimeout bounds each round trip unless Timeout says otherwise.
const defaultTimeout = 250 * time.Millisecond

// FailOpen makes the limiter admit events when Redis cannot decide (it is
// unreachable, returns an error or exceeds the Timeout): the call succeeds
// and the failure is reported only to OnError hooks. Use it where an outage
// of the limiter must not become an outage of the service.
func FailOpen() Option { return func(c *config) { c.failOpen = true } }

// FailClosed makes the limiter refuse events when Redis cannot decide,
// returning an error that matches ErrUnavailable and wraps the cause. It is
// the default.
func FailClosed() Option { return func(c *config) { c.failOpen = false } }

// OnError adds a hook called with every failed round trip's error (which
// matches ErrUnavailable and wraps the cause), whichever failure policy
// applies. Hooks run synchronously in the calling goroutine, so they must be
// quick. OnError panics if fn is nil.
func OnError(fn func(err error)) Option {
	if fn == nil {
		panic("redisrate: OnError(nil): fn must not be nil")
	}
	return func(c *config) { c.onError = append(c.onError, fn) }
}

// Timeout bounds each round trip to Redis to d (default 250ms), on top of the
// caller's context; Timeout(0) leaves only the caller's context and the
// client's own timeouts. The bound works through the context deadline, which
// go-redis honours only when the client's options set ContextTimeoutEnabled,
// so NewRate and NewKeyed panic if a go-redis Client, ClusterClient or Ring
// without it is given a non-zero timeout. Timeout panics if d is negative.
func Timeout(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("redisrate: Timeout(%v): d must not be negative", d))
	}
	return func(c *config) { c.timeout = d }
}

// Lease makes a Rate take up to n tokens from Redis per round trip and spend
// them locally; see the package documentation for the bound this puts on
// over-admission. Lease(1) is the default: every decision is a round trip.
// Lease panics if n < 1; NewRate panics if n exceeds the burst, and NewKeyed
// does not support it.
func Lease(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("redisrate: Lease(%d): n must be at least 1", n))
	}
	return func(c *config) { c.lease = n }
}
