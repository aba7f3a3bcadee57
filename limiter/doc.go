// Package limiter bounds how much work runs and how fast: a weighted FIFO
// semaphore, a bulkhead that sheds load once its queue is full, a lock-free
// GCRA rate limiter, per-key rate limiters with bounded memory, and a
// concurrency limit that adapts to observed latency.
//
// # Misuse
//
// The package follows one rule for mistakes, the same as every weft
// package:
//
//   - Bad configuration panics at construction, naming the argument or
//     option and its value: NewRate(-1, 5), NewBulkhead(0, 10), MaxKeys(0).
//   - Programmer errors at call time panic with a message that names them:
//     "limiter: nil context" (Rate.Wait, Semaphore.Acquire, Bulkhead.Do,
//     Adaptive.Acquire, ...), "limiter: nil function" (Bulkhead.Do), and a
//     negative count, which is never meaningful: Rate.AllowN(-1) and
//     Rate.WaitN(ctx, -1) both panic ("limiter: Rate.AllowN(-1): n must be
//     >= 0"), as Semaphore.Acquire(ctx, 0) does.
//   - The zero value of Rate, Keyed, Semaphore, Bulkhead and Adaptive is not
//     usable: its first use panics with "limiter: Rate used without
//     NewRate" and the like, instead of admitting everything or failing with
//     a nil pointer. The check costs nothing on the fast paths.
//   - What happens in correct programs is an error value, matched with
//     errors.Is: ErrFull (a bulkhead's queue is full), ErrRateExceeded (a
//     wait longer than the deadline, or more events than the burst),
//     ErrTooLarge (more permits than the semaphore's limit), and the
//     context's cause when it ends first.
//
// # Observing
//
// Every Stats snapshot carries cumulative counters next to its gauges
// (admitted, rejected, completed, failed, panicked, cancelled, waits and
// their total time, limit changes, expired and evicted keys), which only
// grow and are written off the fast paths. Events with a duration are
// reported through one hook shape, the same in every weft package:
// Semaphore, Bulkhead and Adaptive have Observe(fn func(Observation))
// (remove func()), which calls fn with a "wait" Observation when a queued
// caller leaves the queue and, for Adaptive, a "call" Observation when done
// records an outcome. The module github.com/weftgo/weft/weftotel exports
// all of it as OpenTelemetry metrics.
//
// # Cost
//
// Rate.Allow, Rate.Decide, Semaphore.Acquire and Release on their fast
// paths, Bulkhead.Do and Keyed.Allow of a known key do not allocate; tests
// guard each of these claims with testing.AllocsPerRun.
package limiter
