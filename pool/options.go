package pool

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// An Option configures a Pool. Options are applied in order by New; a later
// option overrides an earlier one that sets the same thing. Each option
// panics at once on an invalid value, naming itself and the value; New
// panics on a combination that cannot work (MinIdle above MaxSize, a Check
// for another type of resource).
type Option func(*config)

// DefaultCheckAfter is how long a resource must have been idle before Check
// runs on it, when CheckAfter is not given.
const DefaultCheckAfter = time.Second

// config is the resolved set of options.
type config struct {
	maxSize     int
	maxSizeSet  bool
	minIdle     int
	idleTTL     time.Duration
	maxLifetime time.Duration
	check       any // func(context.Context, T) error, asserted by New
	checkAfter  time.Duration
	broken      func(error) bool
}

// defaultMaxSize is the MaxSize of a pool built without the option, as pgx
// chooses: four, or GOMAXPROCS when that is larger.
func defaultMaxSize() int { return max(4, runtime.GOMAXPROCS(0)) }

// MaxSize bounds the number of resources the pool holds at once: idle, in
// use, being created and being destroyed, all counted. Acquire waits while
// the bound is reached. The default is the largest of 4, GOMAXPROCS and
// MinIdle. MaxSize panics if n is less than 1.
func MaxSize(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("pool: MaxSize(%d): n must be at least 1", n))
	}
	return func(c *config) { c.maxSize, c.maxSizeSet = n, true }
}

// MinIdle keeps at least n idle resources ready, within MaxSize: a
// background goroutine creates them after New, and again whenever acquires
// or destroys leave fewer than n idle and no caller is waiting. It creates
// one resource at a time, and after a failed create it waits RefillRetry
// before trying again, so a failing backend is not stampeded. IdleTTL never
// evicts below n idle resources. The default is 0. MinIdle panics if n is
// negative; New panics if n exceeds MaxSize.
func MinIdle(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("pool: MinIdle(%d): n must not be negative", n))
	}
	return func(c *config) { c.minIdle = n }
}

// RefillRetry is how long the MinIdle refill waits after a failed create
// before it tries again.
const RefillRetry = time.Second

// IdleTTL destroys a resource that has been idle (released and not acquired
// since) for d, unless that would leave fewer than MinIdle idle resources;
// the least recently used go first. A background goroutine destroys them
// when they expire. Zero, the default, keeps idle resources forever.
// IdleTTL panics if d is negative.
func IdleTTL(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("pool: IdleTTL(%v): d must not be negative", d))
	}
	return func(c *config) { c.idleTTL = d }
}

// MaxLifetime destroys a resource once d has passed since it was created:
// an idle one is destroyed by a background goroutine when it expires (or by
// Acquire, which never returns an expired resource), one in use when it is
// released. MinIdle then replaces it. Zero, the default, means no limit.
// MaxLifetime panics if d is negative.
func MaxLifetime(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("pool: MaxLifetime(%v): d must not be negative", d))
	}
	return func(c *config) { c.maxLifetime = d }
}

// Check sets a health check that Acquire and TryAcquire run on an idle
// resource before handing it out, when it has been idle for at least
// CheckAfter (DefaultCheckAfter unless set). fn gets the Acquire's context
// (context.Background for TryAcquire). When fn returns an error the resource
// is destroyed and Acquire tries another one, or creates one; when the
// Acquire's context ended meanwhile, the resource goes back to the pool
// unharmed and Acquire returns the context's cause. A resource just created,
// or handed from Release straight to a waiting Acquire, is not checked.
//
// T must be the pool's resource type: New panics otherwise. Check panics if
// fn is nil.
func Check[T any](fn func(ctx context.Context, v T) error) Option {
	if fn == nil {
		panic("pool: Check(nil): fn must not be nil")
	}
	return func(c *config) { c.check = fn }
}

// CheckAfter sets how long a resource must have been idle before Check runs
// on it: zero checks every reuse. The default is DefaultCheckAfter. It has no
// effect without Check. CheckAfter panics if d is negative.
func CheckAfter(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("pool: CheckAfter(%v): d must not be negative", d))
	}
	return func(c *config) { c.checkAfter = d }
}

// Broken sets a classifier for the errors returned by the function given to
// With: when it reports true, With destroys the resource instead of
// releasing it. An error matching ErrBroken (errors.Is) is broken whatever
// the classifier says. Broken panics if fn is nil.
func Broken(fn func(err error) bool) Option {
	if fn == nil {
		panic("pool: Broken(nil): fn must not be nil")
	}
	return func(c *config) { c.broken = fn }
}
