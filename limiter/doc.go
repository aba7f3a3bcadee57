// Package limiter bounds how much work runs and how fast: a weighted FIFO
// semaphore, a bulkhead that sheds load once its queue is full, a lock-free
// GCRA rate limiter, per-key rate limiters with bounded memory, and a
// concurrency limit that adapts to observed latency.
package limiter
