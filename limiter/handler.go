package limiter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// ErrOverloaded is the error of a Rejection made because the function given
// to ShedWhen reported the process overloaded.
var ErrOverloaded = errors.New("limiter: overloaded")

// errServerError is what Handler reports to an Acquirer's done function for
// a response with a 5xx status, and errHandlerPanic for a handler that
// panicked: both count as failures.
var (
	errServerError  = errors.New("limiter: handler answered with a server error")
	errHandlerPanic = errors.New("limiter: handler panicked")
)

// Acquirer is a concurrency limit that Handler can hold a slot of for the
// duration of a request: *Bulkhead and *Adaptive implement it. Acquire waits
// for a slot (or fails: a full Bulkhead queue, ctx done) and returns a done
// function, which Handler calls exactly once, when the request is over, with
// nil, context.Canceled (the client went away), or another error (a 5xx
// response, a panic).
type Acquirer interface {
	Acquire(ctx context.Context) (done func(err error), err error)
}

// Rejection describes a request that Handler refused.
type Rejection struct {
	// Status is the status code to answer with: 429 Too Many Requests for
	// a rate limit, 503 Service Unavailable for a full concurrency limit or
	// an overloaded process.
	Status int
	// Err says why: ErrRateExceeded, ErrOverloaded, or the error of the
	// Acquirer (ErrFull from a Bulkhead; context.DeadlineExceeded when
	// MaxWait ran out; the request context's cause when the client left).
	Err error
	// RetryAfter is the delay the Retry-After field already set on the
	// response says, in whole seconds: the time until the rate limiter
	// admits the client's next request, or one second for a 503.
	RetryAfter time.Duration
}

// HandlerOption configures Handler.
type HandlerOption func(*handlerConfig)

type handlerConfig struct {
	rate     rateDecider // nil: no rate limit
	slots    Acquirer    // nil: no concurrency limit
	maxWait  time.Duration
	shed     func() bool
	skip     func(*http.Request) bool
	onReject func(http.ResponseWriter, *http.Request, Rejection)
	policy   string
}

// rateDecider decides a request under a rate limit, returning the decision
// and the emission interval of the limiter that made it (0 for Inf).
type rateDecider interface {
	decide(r *http.Request) (Decision, int64)
}

// PerKey rate-limits requests per key: key(r) names the client (ClientIP()
// for its address, or a user ID, an API key) and k holds one Rate per key.
// A request over its key's limit gets 429 Too Many Requests with
// Retry-After, and every response of the route gets RateLimit and
// RateLimit-Policy fields (see Handler). PerKey panics if k or key is nil.
func PerKey[K comparable](k *Keyed[K], key func(*http.Request) K) HandlerOption {
	if k == nil || key == nil {
		panic(fmt.Sprintf("limiter: PerKey(%p, %p): Keyed and key function must not be nil", k, key))
	}
	return func(c *handlerConfig) { c.setRate("PerKey", &keyedDecider[K]{k, key}) }
}

// Global rate-limits all requests of the route together under r, with the
// responses PerKey gives. It panics if r is nil.
func Global(r *Rate) HandlerOption {
	if r == nil {
		panic("limiter: Global(nil): Rate must not be nil")
	}
	return func(c *handlerConfig) { c.setRate("Global", rateOne{r}) }
}

func (c *handlerConfig) setRate(option string, d rateDecider) {
	if c.rate != nil {
		panic(fmt.Sprintf("limiter: Handler: %s: a Handler takes one rate limit (PerKey or Global); nest Handlers, each with its own RatePolicy name, for more", option))
	}
	c.rate = d
}

// Concurrency bounds the requests the handler serves at once with a: a
// request waits for a slot as a.Acquire does (in a Bulkhead's bounded queue,
// in an Adaptive's unbounded one), at most MaxWait if set, and gets 503
// Service Unavailable with Retry-After: 1 if it gets none. Only requests
// that reach the handler report an outcome to a (an Adaptive learns only
// from their latency): success, failure (a 5xx response, a panic, the
// request's deadline passed), or context.Canceled (the client went away).
// To see the status, the handler gets a ResponseWriter wrapper that
// forwards Flush and unwraps for http.ResponseController (use it to
// Hijack). Concurrency panics if a is nil.
func Concurrency(a Acquirer) HandlerOption {
	if a == nil {
		panic("limiter: Concurrency(nil): Acquirer must not be nil")
	}
	return func(c *handlerConfig) { c.slots = a }
}

// MaxWait bounds the time a request waits for a Concurrency slot to d; past
// it the request gets 503. Use it with an Adaptive, whose queue is not
// bounded, so that its waiting requests do not pile up: d of about the
// handler's usual latency keeps the wait small against the work. It panics
// if d is not positive.
func MaxWait(d time.Duration) HandlerOption {
	if d <= 0 {
		panic(fmt.Sprintf("limiter: MaxWait(%v): d must be positive", d))
	}
	return func(c *handlerConfig) { c.maxWait = d }
}

// ShedWhen answers 503 Service Unavailable with Retry-After: 1, without
// calling the handler, while overloaded() reports true (for example
// monitor.Monitor.Overloaded, a single atomic load). It is called once per
// request, so it must be cheap. It panics if overloaded is nil.
func ShedWhen(overloaded func() bool) HandlerOption {
	if overloaded == nil {
		panic("limiter: ShedWhen(nil): function must not be nil")
	}
	return func(c *handlerConfig) { c.shed = overloaded }
}

// Skip passes requests for which skip returns true straight to the handler,
// unlimited and without RateLimit fields: health checks, internal networks.
// It panics if skip is nil.
func Skip(skip func(*http.Request) bool) HandlerOption {
	if skip == nil {
		panic("limiter: Skip(nil): function must not be nil")
	}
	return func(c *handlerConfig) { c.skip = skip }
}

// OnReject replaces the response to a refused request. fn is called with
// Retry-After (and, on a rate-limited route, the RateLimit fields) already
// set on w's header, and must write the response, with rej.Status or
// another code: a problem+json body (RFC 9457), a redirect, a log line
// first. The default writes rej.Status with its status text as a plain-text
// body. OnReject panics if fn is nil.
func OnReject(fn func(w http.ResponseWriter, r *http.Request, rej Rejection)) HandlerOption {
	if fn == nil {
		panic("limiter: OnReject(nil): function must not be nil")
	}
	return func(c *handlerConfig) { c.onReject = fn }
}

// RatePolicy names the rate limit's quota policy in the RateLimit and
// RateLimit-Policy fields (default "default"). Nested Handlers need
// different names. It panics unless name is 1 to 64 printable ASCII
// characters.
func RatePolicy(name string) HandlerOption {
	if name == "" || len(name) > 64 {
		panic(fmt.Sprintf("limiter: RatePolicy(%q): name must be 1 to 64 printable ASCII characters", name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e {
			panic(fmt.Sprintf("limiter: RatePolicy(%q): name must be 1 to 64 printable ASCII characters", name))
		}
	}
	return func(c *handlerConfig) { c.policy = name }
}

// Handler returns next wrapped in the limits opts configure, checked in this
// order: Skip, then the rate limit (PerKey or Global: 429), then ShedWhen
// (503), then Concurrency (503). A request refused by one is not counted by
// the next, and never reaches next; a request admitted by the rate limit and
// refused later has used its quota.
//
// On a rate-limited route every response (refused or not) carries the
// fields of draft-ietf-httpapi-ratelimit-headers-11, for the request's key:
//
//	RateLimit-Policy: "default";q=20;w=2
//	RateLimit: "default";r=7;t=1
//
// q is the burst, w the seconds the limiter takes to earn it back (rounded
// up), r the requests the key may make now, and t the seconds until r grows
// (rounded up): within t seconds the client can use no more than r. On a 429
// r is 0 and t equals Retry-After, the time until the limiter admits the
// key's next request. With an Inf rate, w and t are left out.
//
// Handler allocates only the RateLimit field's value (two small
// allocations); the other fields' values are shared. Handler panics if next
// is nil.
func Handler(next http.Handler, opts ...HandlerOption) http.Handler {
	if next == nil {
		panic("limiter: Handler(nil): handler must not be nil")
	}
	c := handlerConfig{policy: "default", onReject: defaultReject}
	for _, o := range opts {
		o(&c)
	}
	h := &handler{next: next, cfg: c}
	h.rlPrefix = []byte(strconv.Quote(c.policy) + ";r=")
	return h
}

type handler struct {
	next     http.Handler
	cfg      handlerConfig
	rlPrefix []byte                      // `"name";r=`
	policy   atomic.Pointer[policyValue] // the last RateLimit-Policy value built
}

// policyValue is a RateLimit-Policy value, for one limiter configuration.
type policyValue struct {
	limit    int
	interval int64
	value    []string
}

// The header keys, in canonical form so that they can be set without
// canonicalizing.
var (
	keyRateLimit       = http.CanonicalHeaderKey("RateLimit")
	keyRateLimitPolicy = http.CanonicalHeaderKey("RateLimit-Policy")
	keyRetryAfter      = http.CanonicalHeaderKey("Retry-After")
	keyContentType     = http.CanonicalHeaderKey("Content-Type")
	keyNoSniff         = http.CanonicalHeaderKey("X-Content-Type-Options")
)

// Shared header values. Every Header method replaces or copies a value
// slice rather than writing into it (Add appends to a full slice, which
// copies), so one slice can serve every response.
var (
	valTextPlain = []string{"text/plain; charset=utf-8"}
	valNoSniff   = []string{"nosniff"}
	valSeconds   = func() (v [61][]string) { // Retry-After: 1 to 60
		for i := 1; i < len(v); i++ {
			v[i] = []string{strconv.Itoa(i)}
		}
		return v
	}()
	body429 = []byte(http.StatusText(http.StatusTooManyRequests) + "\n")
	body503 = []byte(http.StatusText(http.StatusServiceUnavailable) + "\n")
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &h.cfg
	if c.skip != nil && c.skip(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	if c.rate != nil {
		d, interval := c.rate.decide(r)
		h.rateFields(w.Header(), d, interval)
		if !d.Allowed {
			h.reject(w, r, http.StatusTooManyRequests, ErrRateExceeded, d.RetryAfter)
			return
		}
	}
	if c.shed != nil && c.shed() {
		h.reject(w, r, http.StatusServiceUnavailable, ErrOverloaded, time.Second)
		return
	}
	if c.slots != nil {
		h.serveLimited(w, r)
		return
	}
	h.next.ServeHTTP(w, r)
}

// serveLimited serves r holding a Concurrency slot.
func (h *handler) serveLimited(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var done func(error)
	var err error
	if h.cfg.maxWait > 0 {
		wctx, cancel := context.WithTimeout(ctx, h.cfg.maxWait)
		done, err = h.cfg.slots.Acquire(wctx)
		cancel()
	} else {
		done, err = h.cfg.slots.Acquire(ctx)
	}
	if err != nil {
		h.reject(w, r, http.StatusServiceUnavailable, err, time.Second)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	finished := false
	defer func() {
		if !finished { // a panic: let it go on, with its stack, once the slot is back
			done(errHandlerPanic)
		}
	}()
	h.next.ServeHTTP(sw, r)
	finished = true
	switch err := ctx.Err(); {
	case err != nil:
		done(err) // Canceled (the client went away) teaches nothing; DeadlineExceeded is a failure
	case sw.status >= 500:
		done(errServerError)
	default:
		done(nil)
	}
}

// reject answers a refused request, with Retry-After set to wait rounded up
// to whole seconds (at least 1).
func (h *handler) reject(w http.ResponseWriter, r *http.Request, status int, err error, wait time.Duration) {
	secs := ceilSeconds(wait)
	if secs < 1 {
		secs = 1
	}
	hd := w.Header()
	if secs < int64(len(valSeconds)) {
		hd[keyRetryAfter] = valSeconds[secs]
	} else {
		hd[keyRetryAfter] = []string{strconv.FormatInt(secs, 10)}
	}
	h.cfg.onReject(w, r, Rejection{Status: status, Err: err, RetryAfter: time.Duration(secs) * time.Second})
}

func defaultReject(w http.ResponseWriter, _ *http.Request, rej Rejection) {
	hd := w.Header()
	hd[keyContentType] = valTextPlain
	hd[keyNoSniff] = valNoSniff
	w.WriteHeader(rej.Status)
	switch rej.Status {
	case http.StatusTooManyRequests:
		w.Write(body429)
	case http.StatusServiceUnavailable:
		w.Write(body503)
	default:
		w.Write([]byte(http.StatusText(rej.Status) + "\n"))
	}
}

// rateFields sets the RateLimit and RateLimit-Policy fields for d, made by a
// limiter with the emission interval T (0 for Inf).
func (h *handler) rateFields(hd http.Header, d Decision, T int64) {
	var buf [48]byte
	b := append(buf[:0], h.rlPrefix...)
	b = appendSFInt(b, int64(d.Remaining))
	if T > 0 {
		// t: the time until Remaining grows. On a refusal that is the
		// wait for the next event; otherwise Remaining = ⌊(burst·T −
		// Reset)/T⌋ grows when Reset has shrunk to the next multiple of
		// T below it.
		next := d.RetryAfter
		if d.Allowed {
			x := int64(d.Limit)*T - int64(d.Reset)
			next = time.Duration(T - x%T)
		}
		b = append(b, ";t="...)
		b = appendSFInt(b, ceilSeconds(next))
	}
	v, p := []string{string(b)}, h.policyFor(d.Limit, T)
	if old := hd[keyRateLimit]; len(old) > 0 {
		// An outer Handler's fields (each names its own policy): keep them.
		v = append(old[:len(old):len(old)], v[0])
		if oldp := hd[keyRateLimitPolicy]; len(oldp) > 0 {
			p = append(oldp[:len(oldp):len(oldp)], p[0])
		}
	}
	hd[keyRateLimit] = v
	hd[keyRateLimitPolicy] = p
}

// policyFor returns the RateLimit-Policy value for a limiter with the burst
// limit and emission interval T, built once per configuration in use.
func (h *handler) policyFor(limit int, T int64) []string {
	if p := h.policy.Load(); p != nil && p.limit == limit && p.interval == T {
		return p.value
	}
	b := append([]byte(nil), h.rlPrefix[:len(h.rlPrefix)-2]...) // `"name";`
	b = append(b, "q="...)
	b = appendSFInt(b, int64(limit))
	if T > 0 {
		b = append(b, ";w="...)
		b = appendSFInt(b, ceilSeconds(time.Duration(int64(limit)*T)))
	}
	p := &policyValue{limit: limit, interval: T, value: []string{string(b)}}
	h.policy.Store(p)
	return p.value
}

// sfMaxInt is the largest Integer a structured field (RFC 9651) may carry.
const sfMaxInt = 999_999_999_999_999

// appendSFInt appends v, clamped to a structured field Integer's range.
func appendSFInt(b []byte, v int64) []byte {
	return strconv.AppendInt(b, min(max(v, 0), sfMaxInt), 10)
}

// ceilSeconds returns d in seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// keyedDecider decides under a Keyed.
type keyedDecider[K comparable] struct {
	k   *Keyed[K]
	key func(*http.Request) K
}

func (d *keyedDecider[K]) decide(r *http.Request) (Decision, int64) {
	key := d.key(r)
	s := d.k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	rate := d.k.get(s, key) // as Keyed.Decide, plus the key's interval
	return rate.Decide(), rate.interval
}

// rateOne decides under one Rate.
type rateOne struct{ r *Rate }

func (o rateOne) decide(*http.Request) (Decision, int64) { return o.r.Decide(), o.r.interval }

// statusWriter records the status of the response, for Concurrency's
// outcome. It unwraps for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the response if the underlying writer can.
func (w *statusWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
