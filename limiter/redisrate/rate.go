package redisrate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftgo/weft/limiter"
)

// ErrUnavailable reports that Redis could not decide: it was unreachable,
// answered with an error, or did not answer within the Timeout. Errors that
// match it also wrap the cause. Match it with errors.Is.
var ErrUnavailable = errors.New("redisrate: limiter unavailable")

// ErrRateExceeded reports that WaitN was asked for more events than the
// burst, or for a wait that would end after the context's deadline. It is
// limiter.ErrRateExceeded, so code written for either limiter matches both
// with errors.Is.
var ErrRateExceeded = limiter.ErrRateExceeded

// Inf is the rate of a limiter that admits every event without asking Redis.
// It is limiter.Inf.
const Inf = limiter.Inf

// maxNs bounds burst·T and every wait, in ns (about 13 days), so that every
// number the script computes or replies stays an exact integer in a Lua
// double (< 2^53).
const maxNs = 1 << 50

// script is GCRA on a key holding tat, the theoretical arrival time in ns
// since the Unix epoch. ARGV: T and burst·T in ns; need and want, the fewest
// and most events to take; maxWait, the longest wait in ns the caller
// accepts for need events; optionally now in µs, replacing the server's
// TIME (for tests, whose clock may run apart from the one Redis expires keys
// by, so their keys linger an hour longer). It takes as many events as fit
// now, up to want; if fewer than need fit, it reserves need events at the end
// of the queue when the wait is at most maxWait. It replies 2·got (events
// taken now), −wait (need events reserved, usable after wait ns), or
// 2·retry+1 when it refuses, writing nothing: no event fits before retry ns
// from now. Times are handled as µs plus a ns remainder, and ahead (tat −
// now, in ns) is small, so every number is an exact integer below 2^53.
var script = goredis.NewScript(`
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local need, want, maxwait = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, linger = nil, 0
if ARGV[6] then
  now, linger = tonumber(ARGV[6]), 3600000
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local ahead = 0
local tat = redis.call('GET', KEYS[1])
if tat then
  ahead = math.max(0, (tonumber(string.sub(tat, 1, -4)) - now) * 1000 + tonumber(string.sub(tat, -3)))
end
local got = want
if ahead + got * interval > tolerance then
  got = math.floor((tolerance - ahead) / interval)
  if got * interval > tolerance - ahead then
    got = got - 1
  end
  if got < need then
    got = need
    if ahead + got * interval > tolerance + maxwait then
      return 2 * math.max(0, ahead + interval - tolerance) + 1
    end
  end
end
ahead = ahead + got * interval
local ns = ahead % 1000
redis.call('SET', KEYS[1], string.format('%.0f%03d', now + (ahead - ns) / 1000, ns), 'PX', math.ceil(ahead / 1000000) + linger)
if ahead > tolerance then
  return tolerance - ahead
end
return 2 * got
`)

// limit is what Rate and Keyed share: the client, the rate and the policy.
type limit struct {
	client    goredis.Scripter
	burst     int
	interval  int64  // emission interval T in ns; 0 means Inf
	tolerance int64  // burst·T in ns
	args      [2]any // interval and tolerance as script arguments, boxed once
	config
	now   func() int64 // tests only: the server time in µs, replacing TIME
	epoch time.Time    // origin of clock, with a monotonic reading
}

// newLimit validates the arguments common to NewRate and NewKeyed; call
// names the constructor and its arguments for panic messages.
func newLimit(call string, client goredis.Scripter, perSecond float64, burst int, opts []Option) *limit {
	if client == nil {
		panic(fmt.Sprintf("redisrate: %s: client must not be nil", call))
	}
	if !(perSecond > 0) {
		panic(fmt.Sprintf("redisrate: %s: perSecond must be positive or Inf", call))
	}
	if burst < 1 {
		panic(fmt.Sprintf("redisrate: %s: burst must be at least 1", call))
	}
	l := &limit{client: client, burst: burst, config: config{timeout: defaultTimeout, lease: 1}, epoch: time.Now()}
	for _, o := range opts {
		o(&l.config)
	}
	if l.timeout > 0 && !honoursContext(client) {
		panic(fmt.Sprintf("redisrate: %s: Timeout(%v) needs a client with ContextTimeoutEnabled: true in its options (or pass Timeout(0))", call, l.timeout))
	}
	if perSecond >= Inf {
		return l
	}
	t := max(1, math.Round(float64(time.Second)/perSecond))
	if t*float64(burst) > maxNs {
		panic(fmt.Sprintf("redisrate: %s: burst/perSecond must not exceed 13 days", call))
	}
	l.interval = int64(t)
	l.tolerance = l.interval * int64(burst)
	l.args = [2]any{strconv.FormatInt(l.interval, 10), strconv.FormatInt(l.tolerance, 10)}
	return l
}

// honoursContext reports whether go-redis applies context deadlines to the
// client's socket reads and writes, for the clients that can tell.
func honoursContext(c goredis.Scripter) bool {
	switch c := c.(type) {
	case *goredis.Client:
		return c.Options().ContextTimeoutEnabled
	case *goredis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *goredis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// clock returns the time in ns on a monotonic clock (the test's clock if it
// set one), to compare with the retry times take returns.
func (l *limit) clock() int64 {
	if l.now != nil {
		return l.now() * 1000
	}
	return int64(time.Since(l.epoch))
}

// take runs the script on keys; see script for need, want and maxWait. It
// returns the events taken (0: refused) and, for a reservation, the wait in
// ns. A refusal sets retry instead, the time by the clock before which Redis
// will refuse any event (0: unknown). A failed round trip is handed to the
// OnError hooks and the failure policy: fail open takes need events at once,
// fail closed returns the error. If ctx itself ended, take returns its cause
// and leaves the policy alone.
func (l *limit) take(ctx context.Context, keys []string, need, want int, maxWait int64) (got int, wait, retry int64, err error) {
	rctx := ctx
	if l.timeout > 0 {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > l.timeout {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, l.timeout)
			defer cancel()
		}
	}
	// The script runs after sent, so no event fits before sent + its retry.
	sent := l.clock()
	args := []any{l.args[0], l.args[1], need, want, maxWait}
	if l.now != nil {
		args = append(args, l.now())
	}
	v, err := script.Run(rctx, l.client, keys, args...).Int64()
	switch {
	case err == nil && v > 0 && v%2 == 0:
		return int(v / 2), 0, 0, nil
	case err == nil && v > 0:
		return 0, 0, sent + v/2, nil
	case err == nil:
		return need, -v, 0, nil
	case ctx.Err() != nil:
		return 0, 0, 0, context.Cause(ctx)
	}
	err = fmt.Errorf("%w: key %q: %w", ErrUnavailable, keys[0], err)
	for _, fn := range l.onError {
		fn(err)
	}
	if l.failOpen {
		return need, 0, 0, nil
	}
	return 0, 0, 0, err
}

// allowArgs decides the AllowN calls that need no round trip; done reports
// whether it did.
func (l *limit) allowArgs(n int) (done, ok bool, err error) {
	switch {
	case n < 0:
		return true, false, fmt.Errorf("redisrate: AllowN(%d): n must not be negative", n)
	case n == 0 || l.interval == 0:
		return true, true, nil
	case n > l.burst:
		return true, false, nil
	}
	return false, false, nil
}

// waitArgs decides the WaitN calls that need no round trip (done reports
// whether it did, and WaitN returns err) and otherwise returns the longest
// wait in ns that ctx's deadline allows.
func (l *limit) waitArgs(ctx context.Context, n int) (maxWait int64, done bool, err error) {
	switch {
	case ctx.Err() != nil:
		return 0, true, context.Cause(ctx)
	case n < 0:
		return 0, true, fmt.Errorf("redisrate: WaitN(%d): n must not be negative", n)
	case n == 0 || l.interval == 0:
		return 0, true, nil
	case n > l.burst:
		return 0, true, fmt.Errorf("%w: WaitN(%d) exceeds the burst of %d", ErrRateExceeded, n, l.burst)
	}
	maxWait = maxNs
	if d, ok := ctx.Deadline(); ok {
		maxWait = min(maxWait, max(0, int64(time.Until(d))))
	}
	return maxWait, false, nil
}

// sleep finishes WaitN(ctx, n) given the outcome of its round trip.
func sleep(ctx context.Context, n int, ok bool, wait int64, err error) error {
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%w: WaitN(%d) would wait past the context's deadline", ErrRateExceeded, n)
	case wait <= 0:
		return nil
	}
	t := time.NewTimer(time.Duration(wait))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Rate is a rate limiter whose state is one Redis key, shared by every Rate
// on that key in any process. It admits events at perSecond on average and
// up to burst at once, deciding exactly as limiter.Rate would for one
// process (see the package documentation). It is safe for concurrent use.
// The zero value is not usable; create one with NewRate.
type Rate struct {
	l       *limit
	keys    []string      // the key, as go-redis takes it
	refused atomic.Int64  // Redis refuses every event before this clock time
	local   atomic.Int64  // with Lease: tokens taken from Redis, not yet spent
	fill    chan struct{} // with Lease: held while renewing the lease
}

// NewRate returns a limiter on key that admits perSecond events per second
// with bursts of up to burst events; a key Redis does not hold is a full
// bucket. Every Rate on the same key must use the same perSecond and burst.
// It panics if client is nil, key is empty, perSecond is not positive (Inf
// admits everything without Redis), burst < 1, burst/perSecond exceeds 13
// days, Lease exceeds burst, or the Timeout cannot work with client.
func NewRate(client goredis.Scripter, key string, perSecond float64, burst int, opts ...Option) *Rate {
	call := fmt.Sprintf("NewRate(%q, %v, %d)", key, perSecond, burst)
	if key == "" {
		panic(fmt.Sprintf("redisrate: %s: key must not be empty", call))
	}
	l := newLimit(call, client, perSecond, burst, opts)
	if l.lease > burst {
		panic(fmt.Sprintf("redisrate: %s: Lease(%d) must not exceed the burst", call, l.lease))
	}
	r := &Rate{l: l, keys: []string{key}}
	if l.lease > 1 {
		r.fill = make(chan struct{}, 1)
	}
	return r
}

// Allow reports whether one event may happen now, and if so records it; see
// AllowN.
func (r *Rate) Allow(ctx context.Context) (bool, error) { return r.AllowN(ctx, 1) }

// AllowN reports whether n events may happen now, and if so records them,
// in one round trip to Redis, or none: with a Lease that covers them, and
// after a refusal until the time Redis said the next event could come (other
// replicas can only push that time later, so this decides as Redis would). A
// refusal changes nothing and returns a nil error. AllowN(ctx, 0) is true,
// n > burst is always refused, and a negative n is an error. If Redis cannot
// decide, AllowN follows the failure policy: fail closed (the default)
// returns false and an error matching ErrUnavailable, fail open returns true
// and nil. If ctx ends first, it returns false and context.Cause(ctx).
func (r *Rate) AllowN(ctx context.Context, n int) (bool, error) {
	if done, ok, err := r.l.allowArgs(n); done {
		return ok, err
	}
	ok, _, err := r.reserve(ctx, n, 0)
	return ok, err
}

// Wait blocks until one event may happen and records it; see WaitN.
func (r *Rate) Wait(ctx context.Context) error { return r.WaitN(ctx, 1) }

// WaitN blocks until n events may happen, records them, and returns nil. It
// reserves the events in one round trip, queueing behind every reservation
// already made on the key by any replica, then sleeps until their turn. It
// returns an error matching ErrRateExceeded without waiting if n exceeds the
// burst or the wait would end after ctx's deadline (or after about 13 days),
// and an error if n is negative; WaitN(ctx, 0) only checks ctx. If ctx ends
// while it sleeps, it returns context.Cause(ctx) and the reservation is
// forfeited (never given back, which could let events bunch up beyond the
// limit). Failures follow the policy as in AllowN: fail open returns nil at
// once.
func (r *Rate) WaitN(ctx context.Context, n int) error {
	maxWait, done, err := r.l.waitArgs(ctx, n)
	if done {
		return err
	}
	ok, wait, err := r.reserve(ctx, n, maxWait)
	return sleep(ctx, n, ok, wait, err)
}

// reserve takes n <= burst events, from the lease when it holds them, and
// otherwise from Redis, waiting at most maxWait ns for them.
func (r *Rate) reserve(ctx context.Context, n int, maxWait int64) (ok bool, wait int64, err error) {
	if r.fill == nil {
		got, wait, err := r.take(ctx, n, n, maxWait)
		return got > 0, wait, err
	}
	for v := r.local.Load(); v >= int64(n); v = r.local.Load() {
		if r.local.CompareAndSwap(v, v-int64(n)) {
			return true, 0, nil
		}
	}
	select {
	case r.fill <- struct{}{}:
	case <-ctx.Done():
		return false, 0, context.Cause(ctx)
	}
	defer func() { <-r.fill }()
	// Only the holder of fill adds tokens, so none arrive while it works.
	v := int(r.local.Swap(0))
	if v >= n {
		r.local.Add(int64(v - n))
		return true, 0, nil
	}
	need := n - v
	got, wait, err := r.take(ctx, need, max(need, r.l.lease), maxWait)
	if got == 0 {
		r.local.Add(int64(v))
		return false, 0, err
	}
	r.local.Add(int64(v + got - n))
	return true, wait, err
}

// take takes events from Redis as limit.take does, unless it refused every
// event until a time not reached yet.
func (r *Rate) take(ctx context.Context, need, want int, maxWait int64) (got int, wait int64, err error) {
	if maxWait == 0 && r.l.clock() < r.refused.Load() {
		return 0, 0, nil
	}
	got, wait, retry, err := r.l.take(ctx, r.keys, need, want, maxWait)
	if retry > 0 {
		r.refused.Store(retry) // any value stored is true; the latest is the best guess
	}
	return got, wait, err
}

// Keyed is a family of rate limiters in Redis, one per key (a user, an IP
// address), each behaving as a Rate with the same perSecond and burst. Keys
// live under a common prefix and expire once their bucket is full again, so
// idle keys cost nothing. It is safe for concurrent use. The zero value is
// not usable; create one with NewKeyed.
type Keyed struct {
	l      *limit
	prefix string
}

// NewKeyed returns per-key limiters stored under Redis keys prefix+key; see
// NewRate for the arguments and the panics. Lease is not supported: a lease
// per key would hold memory for every key seen.
func NewKeyed(client goredis.Scripter, prefix string, perSecond float64, burst int, opts ...Option) *Keyed {
	call := fmt.Sprintf("NewKeyed(%q, %v, %d)", prefix, perSecond, burst)
	l := newLimit(call, client, perSecond, burst, opts)
	if l.lease > 1 {
		panic(fmt.Sprintf("redisrate: %s: Lease(%d) is not supported by Keyed", call, l.lease))
	}
	return &Keyed{l: l, prefix: prefix}
}

// Allow reports whether one event may happen now for key, and if so records
// it; see Rate.AllowN.
func (k *Keyed) Allow(ctx context.Context, key string) (bool, error) {
	return k.AllowN(ctx, key, 1)
}

// AllowN reports whether n events may happen now for key, and if so records
// them; it behaves as Rate.AllowN, except that every call with 0 < n <= burst
// is a round trip (Keyed keeps no state per key, refusals included).
func (k *Keyed) AllowN(ctx context.Context, key string, n int) (bool, error) {
	if done, ok, err := k.l.allowArgs(n); done {
		return ok, err
	}
	got, _, _, err := k.l.take(ctx, []string{k.prefix + key}, n, n, 0)
	return got > 0, err
}

// Wait blocks until one event may happen for key and records it; see
// Rate.WaitN.
func (k *Keyed) Wait(ctx context.Context, key string) error { return k.WaitN(ctx, key, 1) }

// WaitN blocks until n events may happen for key, records them, and returns
// nil; it behaves as Rate.WaitN.
func (k *Keyed) WaitN(ctx context.Context, key string, n int) error {
	maxWait, done, err := k.l.waitArgs(ctx, n)
	if done {
		return err
	}
	got, wait, _, err := k.l.take(ctx, []string{k.prefix + key}, n, n, maxWait)
	return sleep(ctx, n, got > 0, wait, err)
}
