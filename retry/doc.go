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
// (an HTTP Retry-After, a gRPC pushback); any other error is retried, unless
// If says otherwise. Do never sleeps into a deadline it cannot beat: when the
// next delay would end past ctx's deadline or past MaxElapsed, it returns the
// last error at once. When it gives up, the *Error it returns matches both
// why it stopped (ErrExhausted, ErrBudgetExhausted, or ctx's cause) and the
// last try's error with errors.Is.
//
// A Budget shared by many calls keeps retries under a fixed fraction of first
// tries. Transport wraps an http.RoundTripper so idempotent requests are
// retried with the same rules.
//
// Do starts no goroutine; it starts no timer when every delay is zero and one
// timer, reused, otherwise. A call whose first try succeeds does not allocate.
package retry
