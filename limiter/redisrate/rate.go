package redisrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftgo/weft/internal/gcra"
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
	var ok bool
	if l.interval, l.tolerance, ok = gcra.Params(perSecond, burst, maxNs); !ok {
		panic(fmt.Sprintf("redisrate: %s: burst/perSecond must not exceed 13 days", call))
	}
	if l.interval == 0 {
		return l // Inf
	}
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

// deadline returns the end of the per-call Timeout for a call that starts
// now, or the zero time when there is none.
func (l *limit) deadline() time.Time {
	if l.timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(l.timeout)
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
//
// The round trip ends by the call's bound, deadline (zero: none), unless
// ctx ends first.
func (l *limit) take(ctx context.Context, deadline time.Time, keys []string, need, want int, maxWait int64) (got int, wait, retry int64, err error) {
	got, wait, retry, err, down := l.run(ctx, deadline, keys, need, want, maxWait)
	if down {
		return l.policy(need, err)
	}
	return got, wait, retry, err
}

// policy is the outcome of a call for need events that Redis could not
// decide, with err the failure: fail open takes them at once, fail closed
// returns err.
func (l *limit) policy(need int, err error) (got int, wait, retry int64, _ error) {
	if l.failOpen {
		return need, 0, 0, nil
	}
	return 0, 0, 0, err
}

// run is take without the failure policy: down reports that Redis could not
// decide, and err is then the failure, already handed to the OnError hooks.
func (l *limit) run(ctx context.Context, deadline time.Time, keys []string, need, want int, maxWait int64) (got int, wait, retry int64, err error, down bool) {
	rctx := ctx
	if !deadline.IsZero() {
		if d, ok := ctx.Deadline(); !ok || d.After(deadline) {
			var cancel context.CancelFunc
			rctx, cancel = context.WithDeadline(ctx, deadline)
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
		return int(v / 2), 0, 0, nil, false
	case err == nil && v > 0:
		return 0, 0, sent + v/2, nil, false
	case err == nil:
		return need, -v, 0, nil, false
	case ctx.Err() != nil:
		return 0, 0, 0, context.Cause(ctx), false
	}
	err = fmt.Errorf("%w: key %q: %w", ErrUnavailable, keys[0], err)
	for _, fn := range l.onError {
		fn(err)
	}
	return 0, 0, 0, err, true
}

// check panics on the misuse of a call to typ's method op: a zero typ, a nil
// ctx or a negative n.
func (l *limit) check(ctx context.Context, typ, op string, n int) {
	switch {
	case l == nil:
		panic("redisrate: " + typ + " used without New" + typ)
	case ctx == nil:
		panic("redisrate: nil context")
	case n < 0:
		panic(fmt.Sprintf("redisrate: %s.%s(%d): n must be >= 0", typ, op, n))
	}
}

// allowArgs decides the AllowN calls that need no round trip; done reports
// whether it did.
func (l *limit) allowArgs(n int) (done, ok bool, err error) {
	switch {
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
	case gcra.Sleep(ctx, wait):
		return nil
	}
	return context.Cause(ctx)
}

// Rate is a rate limiter whose state is one Redis key, shared by every Rate
// on that key in any process. It admits events at perSecond on average and
// up to burst at once, deciding exactly as limiter.Rate would for one
// process (see the package documentation). It is safe for concurrent use.
// Create one with NewRate: a zero Rate panics on first use.
type Rate struct {
	l       *limit
	keys    []string     // the key, as go-redis takes it
	refused atomic.Int64 // Redis refuses every event before this clock time
	local   atomic.Int64 // with Lease: tokens taken from Redis, not yet spent

	// With Lease: the refill of the lease in flight, if any. Callers that
	// find the lease short while one is in flight wait for its outcome
	// instead of making round trips of their own, one after another.
	mu     sync.Mutex
	flight *refill // guarded by mu
}

// refill is one round trip that renews a Rate's lease, shared by every
// caller that needs it.
type refill struct {
	done chan struct{} // closed when the fields below are set
	// err is the failure of a round trip Redis could not answer (it matches
	// ErrUnavailable), to which the waiters apply the failure policy at
	// once; nil when the refill succeeded, was refused, or ended only
	// because its caller's context did (then the waiters try again).
	err error
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
	return &Rate{l: l, keys: []string{key}}
}

// Allow reports whether one event may happen now, and if so records it; see
// AllowN.
func (r *Rate) Allow(ctx context.Context) (bool, error) { return r.AllowN(ctx, 1) }

// AllowN reports whether n events may happen now, and if so records them,
// in one round trip to Redis, or none: with a Lease that covers them, and
// after a refusal until the time Redis said the next event could come (other
// replicas can only push that time later, so this decides as Redis would). A
// refusal changes nothing and returns a nil error. AllowN(ctx, 0) is true,
// n > burst is always refused, and a negative n panics, as a nil ctx does
// (the rule of package limiter). If Redis cannot
// decide, AllowN follows the failure policy: fail closed (the default)
// returns false and an error matching ErrUnavailable, fail open returns true
// and nil. If ctx ends first, it returns false and context.Cause(ctx).
func (r *Rate) AllowN(ctx context.Context, n int) (bool, error) {
	r.l.check(ctx, "Rate", "AllowN", n)
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
// and panics if n is negative or ctx nil; WaitN(ctx, 0) only checks ctx. If
// ctx ends
// while it sleeps, it returns context.Cause(ctx) and the reservation is
// forfeited (never given back, which could let events bunch up beyond the
// limit). Failures follow the policy as in AllowN: fail open returns nil at
// once.
func (r *Rate) WaitN(ctx context.Context, n int) error {
	r.l.check(ctx, "Rate", "WaitN", n)
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
	if r.l.lease <= 1 {
		got, wait, err := r.take(ctx, r.l.deadline(), n, n, maxWait)
		return got > 0, wait, err
	}
	if r.spend(n) {
		return true, 0, nil
	}
	// Every wait and round trip below ends by the per-call bound.
	deadline := r.l.deadline()
	for {
		r.mu.Lock()
		if f := r.flight; f != nil {
			r.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return false, 0, context.Cause(ctx)
			}
			if f.err != nil { // Redis is unavailable: the policy decides, at once
				if r.l.failOpen {
					return true, 0, nil
				}
				return false, 0, f.err
			}
			if r.spend(n) {
				return true, 0, nil
			}
			continue // the tokens went to others: renew the lease again
		}
		if r.spend(n) { // a refill ended between spend and Lock
			r.mu.Unlock()
			return true, 0, nil
		}
		f := &refill{done: make(chan struct{})}
		r.flight = f
		r.mu.Unlock()
		ok, wait, err = r.renew(ctx, deadline, n, maxWait, f)
		r.mu.Lock()
		r.flight = nil
		r.mu.Unlock()
		close(f.done)
		return ok, wait, err
	}
}

// spend takes n tokens from the lease if it holds them.
func (r *Rate) spend(n int) bool {
	for v := r.local.Load(); v >= int64(n); v = r.local.Load() {
		if r.local.CompareAndSwap(v, v-int64(n)) {
			return true
		}
	}
	return false
}

// renew is the round trip of refill f: it takes the n events the caller
// needs, less what the lease holds, plus enough to refill the lease, and
// sets f.err if Redis could not answer.
func (r *Rate) renew(ctx context.Context, deadline time.Time, n int, maxWait int64, f *refill) (ok bool, wait int64, err error) {
	// Only a refill adds tokens and one runs at a time, so none arrive
	// while it works; others may still spend what is left meanwhile.
	v := int(r.local.Swap(0))
	if v >= n {
		r.local.Add(int64(v - n))
		return true, 0, nil
	}
	need := n - v
	if maxWait == 0 && r.l.clock() < r.refused.Load() {
		r.local.Add(int64(v))
		return false, 0, nil
	}
	got, wait, retry, err, down := r.l.run(ctx, deadline, r.keys, need, max(need, r.l.lease), maxWait)
	if retry > 0 {
		r.refused.Store(retry)
	}
	if down {
		f.err = err
		if r.l.failOpen { // the lease's v tokens and need more, taken at once
			return true, 0, nil
		}
		r.local.Add(int64(v))
		return false, 0, err
	}
	if got == 0 {
		r.local.Add(int64(v))
		return false, 0, err
	}
	r.local.Add(int64(v + got - n))
	return true, wait, err
}

// take takes events from Redis as limit.take does, unless it refused every
// event until a time not reached yet.
func (r *Rate) take(ctx context.Context, deadline time.Time, need, want int, maxWait int64) (got int, wait int64, err error) {
	if maxWait == 0 && r.l.clock() < r.refused.Load() {
		return 0, 0, nil
	}
	got, wait, retry, err := r.l.take(ctx, deadline, r.keys, need, want, maxWait)
	if retry > 0 {
		r.refused.Store(retry) // any value stored is true; the latest is the best guess
	}
	return got, wait, err
}

// Keyed is a family of rate limiters in Redis, one per key (a user, an IP
// address), each behaving as a Rate with the same perSecond and burst. Keys
// live under a common prefix and expire once their bucket is full again, so
// idle keys cost nothing. It is safe for concurrent use. Create one with
// NewKeyed: a zero Keyed panics on first use.
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
	k.l.check(ctx, "Keyed", "AllowN", n)
	if done, ok, err := k.l.allowArgs(n); done {
		return ok, err
	}
	got, _, _, err := k.l.take(ctx, k.l.deadline(), []string{k.prefix + key}, n, n, 0)
	return got > 0, err
}

// Wait blocks until one event may happen for key and records it; see
// Rate.WaitN.
func (k *Keyed) Wait(ctx context.Context, key string) error { return k.WaitN(ctx, key, 1) }

// WaitN blocks until n events may happen for key, records them, and returns
// nil; it behaves as Rate.WaitN.
func (k *Keyed) WaitN(ctx context.Context, key string, n int) error {
	k.l.check(ctx, "Keyed", "WaitN", n)
	maxWait, done, err := k.l.waitArgs(ctx, n)
	if done {
		return err
	}
	got, wait, _, err := k.l.take(ctx, k.l.deadline(), []string{k.prefix + key}, n, n, maxWait)
	return sleep(ctx, n, got > 0, wait, err)
}
