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
// *OpenError, which matches ErrOpen and says how long until the next probe.
// After OpenFor (doubled on each consecutive reopen with OpenBackoff) it
// becomes HalfOpen and lets HalfOpenProbes calls through: if they all
// succeed it closes with an empty window, and if one fails it reopens.
// OnStateChange reports every transition, once, in order.
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
// # Cost
//
// In the Closed state a call takes no lock and allocates nothing. It loads
// one atomic word (state and generation), calls the function and, on
// success, updates a counter on a cache line of its own (none at all when
// only ConsecutiveFailures is configured). The clock is read only for
// SlowCalls (to time the call) and TimeWindow (to find its bucket).
// Failures, slow calls and transitions take a lock; Open rejections take none
// and allocate nothing. Allow allocates its done function (two small
// objects) per call; Do and Get allocate nothing.
//
// Transport applies a Breaker to an http.RoundTripper.
package breaker
