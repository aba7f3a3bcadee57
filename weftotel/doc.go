// Package weftotel exports the state of weft's primitives as OpenTelemetry
// metrics: one call per primitive registers its instruments on a
// [metric.Meter], and the returned [metric.Registration] removes them.
//
//	reg, err := weftotel.Breaker(meter, "payments", b)
//	if err != nil { ... }
//	defer reg.Unregister()
//
// # How values are read
//
// Gauges and counters are asynchronous instruments: the meter's callback
// reads the primitive's Stats() snapshot at collection time, so between
// collections registration costs the primitive nothing: a free bulkhead
// runs exactly as without it. The exceptions are a Rate and a Breaker, which
// count admissions and successes only once read (see Rate and Breaker):
// registered, each Rate.Allow and each successful call through a closed
// breaker pays one more atomic add (none for a breaker with a Window(n),
// which counts them anyway). The one histogram that times every call,
// weft.breaker.call.duration, is opt-in (CallDurations). Counters are the cumulative, monotonic counts that the Stats
// snapshots keep since the primitive was created (a Rate's, and a Breaker's
// successes, since its first Stats call); a primitive registered late reports
// its whole history, as a Prometheus counter should.
//
// Every measurement carries the attribute weft.name (NameKey) with the name
// given at registration. A second registration of the same kind and name on
// the same Meter, before the first is unregistered, returns an error wrapping
// ErrDuplicate instead of reporting two series under one identity.
// Unregister releases the name. Register long-lived primitives once at
// start-up; a Group lives for one call, so unregister it when Wait returns.
//
// # Instruments
//
// Names and units follow the OpenTelemetry semantic-convention style:
// dot-separated lower-case names under weft.<primitive>, UCUM units (s for
// durations, {call}-style annotations for counts), and attributes for the
// ways a stream of events divides (weft.outcome, weft.state). The
// Prometheus exporter turns weft.breaker.calls into weft_breaker_calls_total
// and the attribute weft.name into the label weft_name.
//
//	instrument                         kind           unit         attributes besides weft.name
//	weft.breaker.state                 UpDownCounter  {state}      weft.state: closed, open, half_open (1 for the current state, 0 for the others)
//	weft.breaker.calls                 Counter        {call}       weft.outcome: success, failure, ignored, rejected (successes and rejections since registration)
//	weft.breaker.slow_calls            Counter        {call}       -
//	weft.breaker.transitions           Counter        {transition} weft.state: the state entered
//	weft.breaker.window.calls          Gauge          {call}       -
//	weft.breaker.window.failures       Gauge          {call}       -
//	weft.breaker.window.slow           Gauge          {call}       -
//	weft.breaker.consecutive_failures  Gauge          {call}       -
//	weft.breaker.call.duration         Histogram      s            weft.outcome: success, failure (with CallDurations only)
//	weft.bulkhead.running              UpDownCounter  {call}       -
//	weft.bulkhead.queued               UpDownCounter  {call}       -
//	weft.bulkhead.calls                Counter        {call}       weft.outcome: completed, rejected, cancelled
//	weft.bulkhead.calls.failed         Counter        {call}       -
//	weft.bulkhead.calls.panicked       Counter        {call}       -
//	weft.bulkhead.waits                Counter        {call}       -
//	weft.bulkhead.wait.time            Counter        s            -
//	weft.bulkhead.queue.duration       Histogram      s            weft.outcome: admitted, cancelled (queued callers only)
//	weft.semaphore.limit               Gauge          {permit}     -
//	weft.semaphore.held                UpDownCounter  {permit}     -
//	weft.semaphore.waiters             UpDownCounter  {call}       -
//	weft.semaphore.waits               Counter        {call}       -
//	weft.semaphore.wait.time           Counter        s            -
//	weft.semaphore.cancelled           Counter        {call}       -
//	weft.semaphore.wait.duration       Histogram      s            weft.outcome: admitted, cancelled
//	weft.adaptive.limit                Gauge          {permit}     -
//	weft.adaptive.held                 UpDownCounter  {permit}     -
//	weft.adaptive.waiters              UpDownCounter  {call}       -
//	weft.adaptive.waits                Counter        {call}       -
//	weft.adaptive.wait.time            Counter        s            -
//	weft.adaptive.cancelled            Counter        {call}       -
//	weft.adaptive.limit.changes        Counter        {change}     weft.direction: up, down
//	weft.adaptive.call.duration        Histogram      s            weft.outcome: success, failure
//	weft.rate.events                   Counter        {event}      weft.outcome: admitted, rejected
//	weft.keyed.keys                    UpDownCounter  {key}        -
//	weft.keyed.events                  Counter        {event}      weft.outcome: admitted, rejected
//	weft.keyed.evictions               Counter        {key}        weft.reason: idle, capacity
//	weft.group.running                 UpDownCounter  {task}       -
//	weft.group.tasks.started           Counter        {task}       -
//	weft.group.tasks.completed         Counter        {task}       -
//	weft.group.tasks.failed            Counter        {task}       -
//	weft.group.tasks.panicked          Counter        {task}       -
//	weft.group.tasks.skipped           Counter        {task}       -
//	weft.retry.retries                 Counter        {retry}      -
//	weft.retry.calls                   Counter        {call}       weft.outcome: recovered, exhausted, denied (calls whose first try failed)
//	weft.retry.budget.credit           Gauge          {retry}      -
//	weft.retry.budget.retries          Counter        {retry}      weft.outcome: credit, floor, denied
//	weft.hedge.calls                   Counter        {call}       weft.outcome: succeeded, failed, panicked (calls that ended)
//	weft.hedge.running                 UpDownCounter  {call}       -
//	weft.hedge.hedges                  Counter        {attempt}    - (extra attempts started, beyond each call's first)
//	weft.hedge.wins                    Counter        {call}       - (calls an extra attempt won)
//	weft.executor.limit                Gauge          {task}       -
//	weft.executor.workers              UpDownCounter  {goroutine}  -
//	weft.executor.running              UpDownCounter  {task}       -
//	weft.executor.queued               UpDownCounter  {task}       -
//	weft.executor.waiting              UpDownCounter  {call}       -
//	weft.executor.submitted            Counter        {task}       -
//	weft.executor.tasks                Counter        {task}       weft.outcome: succeeded, failed, panicked, cancelled, dropped, rejected
//	weft.executor.queue.time           Counter        s            -
//	weft.pool.resources                UpDownCounter  {resource}   weft.state: idle, in_use, creating, destroying
//	weft.pool.resources.max            Gauge          {resource}   -
//	weft.pool.waiting                  UpDownCounter  {call}       -
//	weft.pool.acquires                 Counter        {call}       weft.outcome: acquired, cancelled
//	weft.pool.waits                    Counter        {call}       -
//	weft.pool.wait.time                Counter        s            -
//	weft.pool.creates                  Counter        {resource}   weft.outcome: success, failure
//	weft.pool.destroyed                Counter        {resource}   weft.reason: broken, idle, expired, unhealthy, closed
//	weft.monitor.schedule.latency      Gauge          s            weft.quantile: p50, p99, max
//	weft.monitor.timer.lag             Gauge          s            weft.quantile: p50, p99, max
//	weft.monitor.gc.pause              Gauge          s            weft.quantile: p50, p99, max
//	weft.monitor.lag                   Gauge          s            -
//	weft.monitor.overloaded            Gauge          1            -
//	weft.monitor.goroutines            UpDownCounter  {goroutine}  -
//	weft.monitor.runnable              UpDownCounter  {goroutine}  -
//	weft.monitor.mutex.wait            Gauge          1            -
//
// A counter split by weft.outcome counts each event once, under the outcome
// it ended with, so summing over weft.outcome gives every event. A group's
// task counters overlap instead (a panicked task is also failed and
// completed), so they are separate instruments.
//
// # Counters and hooks in the root module
//
// The root module has no metrics dependency. It offers two things this
// package builds on, in the same shape in every package:
//
//   - Cumulative counters in each Stats snapshot, next to its gauges, named
//     by what they count, the same way in every package: Admitted and
//     Rejected for events asked of a limiter; Completed, Failed, Panicked
//     and Cancelled for calls and tasks (Succeeded, Failed and Ignored for
//     calls through a breaker, which classifies them); WaitCount and WaitTime (a
//     time.Duration) where callers queue; Opened, HalfOpened and Reclosed
//     for a breaker's transitions; Increases and Decreases for an adaptive
//     limit; Expired and Evicted for a keyed limiter's keys; Retries,
//     Recovered, Exhausted and Denied for a retry policy; Calls,
//     Succeeded, Failed, Panicked, Hedges and Won for the Hedge calls given
//     a timeout.HedgeCounter with timeout.CountInto (a call without it
//     counts nothing and costs nothing more). They only grow,
//     and they are written off the fast paths (on failure, rejection and
//     queueing paths, or under a lock the path already takes), so that the
//     fast paths internal/compare measures cost what they did. Where that
//     is impossible, the count is left out or starts late, and the field's
//     documentation says so: a limiter.Rate and a breaker's successes
//     count from the first Stats call on (a flag the fast path loads
//     anyway says whether to count), and a retry policy does not count
//     calls whose first try succeeds.
//   - For facts that are events rather than counts (the time a caller waited
//     in a queue, a call's latency), one hook shape: a method
//     Observe(fn func(Observation)) (remove func()) on the primitive, where
//     an Observation holds the event's kind ("wait" or "call"), its
//     Duration and its Err. With no observer attached the primitive loads
//     one nil pointer; it reads the clock only on paths that are slow
//     already (a queued caller) or that time calls anyway, except a
//     Breaker's, which times every call while an observer is attached:
//     hence CallDurations.
//
// Histograms are synchronous instruments fed by that hook: registering one
// attaches an observer, and Unregister detaches it. Only callers that queue
// reach a wait histogram, so its count is the waits counter, not the calls.
//
// # Misuse
//
// A nil Meter or nil primitive is a programmer error and panics with a
// message starting "weftotel:"; an invalid DurationBuckets panics at once.
// Errors from the Meter (an invalid instrument, a failed callback
// registration) are returned, and leave nothing registered.
package weftotel
