// Package redisrate provides rate limiters whose state lives in Redis, so
// that every replica of a service shares one limit: the semantics of
// [github.com/weftgo/weft/limiter.Rate], enforced across processes.
//
// It is a separate module (github.com/weftgo/weft/limiter/redisrate) so that
// the root module does not depend on a Redis client. It works with go-redis:
//
//	import (
//		"github.com/redis/go-redis/v9"
//		"github.com/weftgo/weft/limiter/redisrate"
//	)
//
// # Admission
//
// [Rate] and [Keyed] implement the generic cell rate algorithm (GCRA) exactly
// as limiter.Rate does, in one Lua script that Redis runs atomically: with
// emission interval T = 1s/perSecond (rounded to the nearest nanosecond, at
// least 1ns) and a stored theoretical arrival time tat (a missing key is a
// full bucket), AllowN(n) at the server's time now computes
// tat' = max(tat, now) + n·T and admits the events if and only if
// tat' − now <= burst·T. Only an admission (or a WaitN reservation) writes:
// it stores tat' with an expiry of tat' − now, the moment the bucket is full
// again, so idle keys vanish on their own. n > burst is never admitted. Over
// any window of length t, at most burst + t/T events are admitted across all
// replicas.
//
// Time is the Redis server's clock (the TIME command, microsecond
// resolution), so replicas whose clocks disagree still agree on decisions.
// The key holds tat as decimal nanoseconds since the Unix epoch; the script
// splits it so that every number it computes stays an exact integer in Lua's
// doubles, which is why burst·T may not exceed about 13 days. The script
// runs with EVALSHA and falls back to EVAL when the server has flushed its
// script cache. It needs Redis 5 or later (or a compatible server), and works
// on Redis Cluster: each call touches one key.
//
// # Round trips
//
// Each decision is one round trip, with two exceptions. A Rate that Redis
// refused remembers until when Redis said no event could fit, and refuses
// calls to AllowN until then without asking: replicas only ever push that
// time later, so the decision is the one Redis would make (up to the drift
// between the two clocks over that time, and unless the key is deleted
// meanwhile). And with [Lease] a Rate spends tokens it took earlier.
//
// # Failures
//
// Every round trip is bounded by a per-call [Timeout] (250ms unless set),
// besides the caller's context. When Redis cannot answer in time, the limiter
// fails closed by default: it refuses the events and returns an error
// matching [ErrUnavailable] that wraps the cause. With [FailOpen] it admits
// them instead and returns no error. Either way [OnError] hooks see every
// failure. A caller whose own context ends gets context.Cause(ctx), and
// neither policy nor hook applies.
//
// # Leasing
//
// With [Lease](n), a Rate takes up to n tokens per round trip (as many as the
// bucket holds, at least the ones the call needs) and spends the rest locally
// on later calls, trading exactness for up to n times fewer round trips.
// A replica holds at most n−1 unspent tokens at any time, so across R
// replicas at most burst + t/T + R·(n−1) events are admitted in any window of
// length t; conversely, tokens leased by a replica that then goes quiet are
// unavailable to the others until they are earned again.
//
// One round trip at a time renews a Rate's lease. Callers that find the lease
// short while it is in flight wait for its outcome instead of making round
// trips of their own: if Redis cannot answer, they all apply the failure
// policy at once, so that every call, leased or not, ends within one Timeout
// however many callers there are.
//
// # Misuse
//
// The package follows package limiter's rule: bad configuration panics in
// NewRate, NewKeyed and the options, naming the value; a nil context, a
// negative n and a zero Rate or Keyed panic on use ("redisrate: nil
// context"); what happens in correct programs (refusal, ErrRateExceeded,
// ErrUnavailable, the context's cause) is a result or an error value.
package redisrate
