// Package breaker is a circuit breaker: after enough failures (or slow calls)
// it rejects calls for a while instead of sending them to a struggling
// dependency, then lets a few probes through to decide whether to close again.
//
//	b := breaker.New(
//		breaker.FailureRate(0.5, breaker.Window(100), breaker.MinCalls(20)),
//		breaker.OpenFor(5*time.Second),
//	)
//	err := b.Do(ctx, func(ctx context.Context) error { return callService(ctx) })
//	if errors.Is(err, breaker.ErrOpen) {
//		// rejected without calling the service
//	}
//
// # States
//
// A Breaker starts Closed and counts outcomes. When a trip condition is met
// (ConsecutiveFailures, FailureRate or SlowCalls; several may be combined,
// and any one trips) it becomes Open and rejects every call with an
// *OpenError, which matches ErrOpen and says, with RetryAfter, how long
// until the next probe. After OpenFor (doubled on each consecutive reopen
// with OpenBackoff) a timer makes it HalfOpen, and it lets HalfOpenProbes
// calls through: if they all succeed it closes with an empty window, and if
// one fails it reopens. OnStateChange reports every transition, once, in
// order, when it happens: the change to HalfOpen is reported when OpenFor
// ends, not when a call next looks at the breaker.
//
// A Breaker needs no Close. Its only timer is armed when it opens, runs
// nothing until it fires, and is stopped when the breaker leaves Open
// early (Reset, ForceOpen). In a testing/synctest bubble the timer fires in
// fake time; a goroutine that wakes at the same instant may run before it,
// so call synctest.Wait after time.Sleep before expecting a probe to pass
// (State makes the change itself if its time has come).
//
// # Outcomes
//
// A call is a Success, a Failure or ignored (Ignore). By default a nil error
// is a success, an error matching context.Canceled is ignored (the caller
// gave up, which says nothing about the dependency), and any other error,
// context.DeadlineExceeded included, is a failure; Classify and IsFailure
// change that. A panic in the called function counts as a failure and goes
// on to the caller. Results that arrive after the breaker has changed state
// (or been Reset) belong to an earlier generation and are not counted.
//
// # Misuse
//
// An option given an invalid value panics when it is called, naming the
// option and the value ("breaker: OpenFor(-1s): d must not be negative"),
// and New panics when options contradict each other. A nil context or a nil
// function passed to Do or Get panics with "breaker: nil context" or
// "breaker: nil function" before anything is counted; the one exception is
// an Open breaker whose rejections are not counted yet (see Stats), whose
// rejection, a single load inlined in the caller, checks nothing else. The
// zero Breaker is
// not usable: its first use panics with "breaker: Breaker used without New".
// Conditions of a correct program (an open breaker) are errors matching
// ErrOpen.
//
// # Cost
//
// In the Closed state a call takes no lock and allocates nothing. It loads
// one atomic word (state and generation) and the Observe hook's pointer,
// calls the function and, on success, counts itself on a cache line of its
// goroutine's stripe, for the Window(n) and for Stats.Succeeded, which
// counts from the first Stats call on (as a limiter.Rate counts): until
// then a breaker with only ConsecutiveFailures writes nothing shared on
// success, and from then on its success costs one more uncontended atomic
// add, which about doubles the few nanoseconds of the breaker's own work
// (BenchmarkDoClosed/consecutive/counting; a Window(n) pays it anyway). The clock is read only for SlowCalls (to time the call),
// TimeWindow (to find its bucket) and while a function is attached with
// Observe (to time the call for it).
// Failures, slow calls and transitions take a lock. An Open breaker rejects
// with one atomic load, no lock and no clock, inlined in Do's caller; once
// Stats has been called (Stats.Rejected counts from then on, like
// Succeeded), each rejection also adds one on its goroutine's stripe. It
// allocates nothing.
// Allow allocates its done function (two small objects) per call; Do and
// Get allocate nothing.
//
// # Counters and hooks
//
// Stats returns the current state and window and cumulative counters:
// calls that succeeded, failed, were ignored and were rejected (which add
// up to every call made once successes are counted), slow calls and
// transitions into each state. Reading it takes the breaker's lock, which
// the Closed state's success path never takes. A call's latency is an
// event rather than a count: Observe attaches a function that gets each
// admitted call's duration and error, in the Observation shape that every
// weft package with timed events shares, so that one observer serves them
// all. The weftotel module exports both as OpenTelemetry metrics.
//
// Transport applies a Breaker to an http.RoundTripper.
package breaker
