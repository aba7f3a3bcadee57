// Package breaker is a circuit breaker: after enough failures (or slow calls)
// it rejects calls for a while instead of sending them to a struggling
// dependency, then lets a few probes through to decide whether to close again.
package breaker
