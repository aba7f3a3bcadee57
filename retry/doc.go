// Package retry calls a function again when it fails, waiting between
// attempts with exponential backoff and jitter. It honours permanent errors,
// server-sent Retry-After hints, the caller's deadline, and retry budgets that
// stop retry storms.
//
// A Policy is built once with New and shared; each call of Do or Get keeps
// its own schedule:
//
//	p := retry.New(retry.Attempts(5), retry.Exponential(100*time.Millisecond, 10*time.Second))
//	err := p.Do(ctx, func(ctx context.Context) error { return call(ctx) })
//
// The delay before retry n is computed from a base of min(max, initial·2^n)
// and randomised as in the AWS Architecture Blog article "Exponential Backoff
// and Jitter" (FullJitter by default; EqualJitter, DecorrelatedJitter and
// NoJitter on request). The cap applies before the jitter, so no delay ever
// exceeds max. Delays lists a policy's schedule.
//
// A try controls what happens next by what it returns: nil ends Do;
// Permanent(err) ends it at once with err; After(d, err) asks for a delay of d
// (an HTTP Retry-After, a gRPC pushback), and so does any error with a
// method RetryAfter() time.Duration that returns a positive d (an open
// breaker's or a rate limiter's refusal), so that a retry does not hammer
// what asked it to wait; any other error is retried, unless If says
// otherwise. Do never sleeps into a deadline it cannot beat: when the next
// delay would not end before ctx's deadline, or would end past MaxElapsed,
// it returns the last error at once. When it gives up, the *Error it returns matches both
// why it stopped (ErrExhausted, ErrBudgetExhausted, or ctx's cause) and the
// last try's error with errors.Is.
//
// A Budget shared by many calls keeps retries under a fixed fraction of first
// tries. Transport wraps an http.RoundTripper so idempotent requests are
// retried with the same rules.
//
// Do starts no goroutine; it starts no timer when every delay is zero and one
// timer, reused, otherwise. A call whose first try succeeds does not allocate.
//
// # Misuse
//
// Options given invalid values panic when they are called, naming the
// option and the value ("retry: Attempts(0): n must be at least 1"), as do
// NewBudget and Transport. A nil context or function passed to Do or Get
// panics with "retry: nil context" or "retry: nil function". Durations a
// try returns follow the context package: After with a negative d asks for
// no delay. The zero Policy works: it tries once and never retries. What
// happens in a correct program (attempts exhausted, a budget refusal, a
// done context) is an *Error, matched with errors.Is.
//
// # Where Transport goes
//
// In a stack of http.RoundTrippers, put retry.Transport outermost, so that
// each try goes through the breaker and the rate limiter and is timed on
// its own (see the README's resilient client).
package retry
