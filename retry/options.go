package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// An Option configures a Policy. Options are applied in order by New; a later
// option overrides an earlier one that sets the same thing.
type Option func(*config)

// Defaults used by New when no option sets them.
const (
	// DefaultAttempts is the number of tries (the first included) a Policy
	// makes when Attempts is not given: one try and three retries.
	DefaultAttempts = 4
	// DefaultInitial and DefaultMax are the bounds of the default
	// Exponential backoff.
	DefaultInitial = 100 * time.Millisecond
	DefaultMax     = 10 * time.Second
)

// Attempts sets the total number of tries, the first one included: Attempts(1)
// never retries. The default is DefaultAttempts. For no limit on the count,
// pass math.MaxInt and bound the loop with MaxElapsed or a context deadline.
// Attempts panics if n is less than 1.
func Attempts(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("retry: Attempts(%d): n must be at least 1", n))
	}
	return func(c *config) { c.attempts = n }
}

// MaxElapsed bounds the time from the start of Do to the start of the last
// try: a retry whose delay would end more than d after Do was called is not
// made, and Do returns the last error as an *Error with ErrExhausted. A try
// already running is never interrupted; use a context deadline for that. Zero
// means no limit (the default). MaxElapsed panics if d is negative.
func MaxElapsed(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("retry: MaxElapsed(%v): d must not be negative", d))
	}
	return func(c *config) { c.maxElapsed = d }
}

// Constant waits d before every retry. Unless a jitter option is given as
// well, the delay is exactly d (NoJitter). A zero d retries at once and starts
// no timer. Constant panics if d is negative.
func Constant(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("retry: Constant(%v): d must not be negative", d))
	}
	return func(c *config) {
		c.initial, c.max, c.exponential = d, d, false
	}
}

// Exponential makes the base delay before retry n (n = 0 for the first retry)
// min(max, initial·m^n), where m is the Multiplier (default 2). Jitter is
// applied to this capped base, so no delay ever exceeds max. Unless a jitter
// option is given as well, Exponential uses FullJitter. The default policy is
// Exponential(DefaultInitial, DefaultMax). With initial 0 every delay is 0.
// Exponential panics if initial is negative or greater than max.
func Exponential(initial, max time.Duration) Option {
	if initial < 0 {
		panic(fmt.Sprintf("retry: Exponential(%v, %v): initial must not be negative", initial, max))
	}
	if initial > max {
		panic(fmt.Sprintf("retry: Exponential(%v, %v): initial must not exceed max", initial, max))
	}
	return func(c *config) {
		c.initial, c.max, c.exponential = initial, max, true
	}
}

// Multiplier sets the growth factor m of Exponential backoff (default 2). It
// has no effect with Constant or DecorrelatedJitter. Multiplier panics if f is
// less than 1, infinite or NaN.
func Multiplier(f float64) Option {
	if !(f >= 1) || math.IsInf(f, 1) {
		panic(fmt.Sprintf("retry: Multiplier(%v): f must be a finite number of at least 1", f))
	}
	return func(c *config) { c.mult = f }
}

// jitter selects how the base delay is randomised.
type jitter uint8

const (
	jitterDefault jitter = iota // Full for Exponential, None for Constant
	jitterNone
	jitterFull
	jitterEqual
	jitterDecorrelated
)

// NoJitter waits exactly the base delay: Constant's d, or Exponential's
// min(max, initial·m^n). Schedules without jitter make clients that failed
// together retry together; prefer a jitter in production.
func NoJitter() Option { return func(c *config) { c.jitter = jitterNone } }

// FullJitter waits a uniformly random delay in [0, base), where base is the
// capped delay described at Exponential: sleep = random(0, min(max,
// initial·m^n)), the "Full Jitter" of the AWS Architecture Blog article
// "Exponential Backoff and Jitter". It is the default with Exponential.
func FullJitter() Option { return func(c *config) { c.jitter = jitterFull } }

// EqualJitter waits half the base delay plus a uniformly random delay in
// [0, base/2): sleep = base/2 + random(0, base/2), the "Equal Jitter" of the
// AWS article. Every delay is at least base/2.
func EqualJitter() Option { return func(c *config) { c.jitter = jitterEqual } }

// DecorrelatedJitter makes each delay depend on the previous one instead of on
// the retry number: sleep = random(initial, min(max, 3·previous)), starting
// from previous = initial. This is the "Decorrelated Jitter" of the AWS
// article with the cap applied before the draw instead of after it, so that
// delays spread below max instead of piling up at max in lockstep. The
// factor 3 is the article's; Multiplier does not change it. Every delay lies
// in [initial, max] (all are zero when initial is).
func DecorrelatedJitter() Option {
	return func(c *config) { c.jitter = jitterDecorrelated }
}

// If sets which errors are retried: an error for which retryable returns false
// ends Do at once, which returns that error as is. An error made by After is
// passed to retryable without its marker, as After's err. By default every
// error is retried except a Permanent one. Whatever If says, Do never retries once its
// context is done, and never retries a Permanent error.
//
// Context errors need no special case: when ctx is done Do stops anyway, and
// when it is not, a context.DeadlineExceeded comes from a deadline of the
// try's own (a per-try timeout), which is worth retrying. If panics if
// retryable is nil.
func If(retryable func(error) bool) Option {
	if retryable == nil {
		panic("retry: If(nil): retryable must not be nil")
	}
	return func(c *config) { c.retryIf = retryable }
}

// Event describes a retry that is about to happen.
type Event struct {
	// Attempt is the number of the try that just failed, starting at 1.
	Attempt int
	// Err is the error that try returned.
	Err error
	// Delay is how long Do will now wait before the next try.
	Delay time.Duration
	// After reports whether Delay was asked for by the try, with After (for
	// Transport, a Retry-After header) or an error's RetryAfter method,
	// capped by CapAfter if given, instead of computed by the policy.
	After bool
}

// OnRetry calls fn before each retry that will actually happen, after every
// check that could stop Do (attempts, deadline, MaxElapsed, budget) has
// passed, and before the wait. It is never called after the last try. fn runs
// in the goroutine that called Do and must not block for long. OnRetry panics
// if fn is nil.
func OnRetry(fn func(Event)) Option {
	if fn == nil {
		panic("retry: OnRetry(nil): fn must not be nil")
	}
	return func(c *config) { c.onRetry = fn }
}

// WithBudget makes every call of the policy draw its retries from b, which
// may be shared by many policies. See NewBudget. (The option is not named
// Budget because the type is.) WithBudget panics if b is nil.
func WithBudget(b *Budget) Option {
	if b == nil {
		panic("retry: WithBudget(nil): b must not be nil")
	}
	return func(c *config) { c.budget = b }
}

// CapAfter caps the delays asked for with After (or an error's RetryAfter
// method) at the policy's maximum delay (Exponential's max, or Constant's
// d). Without it such a delay is honoured in full as long as it ends before
// the context's deadline and within MaxElapsed.
func CapAfter() Option { return func(c *config) { c.capAfter = true } }

// Rand makes the policy draw jitter from src instead of math/rand/v2's global
// source, so that schedules can be reproduced (for example with
// rand.NewPCG(1, 2)). The policy serialises its calls to src, so src needs not
// be safe for concurrent use. Rand panics if src is nil.
func Rand(src rand.Source) Option {
	if src == nil {
		panic("retry: Rand(nil): src must not be nil")
	}
	return func(c *config) { c.rand = &lockedSource{src: src} }
}

// lockedSource serialises the calls to a user's rand.Source.
type lockedSource struct {
	mu  sync.Mutex // guards src
	src rand.Source
}

func (s *lockedSource) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src.Uint64()
}
