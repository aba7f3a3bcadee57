// Package weftgrpc puts weft's retry, breaker, timeout and limiter packages
// in front of gRPC calls, as client and server interceptors.
//
// It is a module of its own (github.com/weftgo/weft/weftgrpc), so that the
// root module does not depend on grpc-go.
//
// # Client
//
// Chain the client interceptors outermost first: a timeout for the whole
// call, then retries, then the breaker and the rate limit that each try
// passes through.
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		grpc.WithChainUnaryInterceptor(
//			weftgrpc.UnaryClientTimeout(2*time.Second),
//			weftgrpc.UnaryClientRetry(policy, weftgrpc.IdempotentMethods("/shop.Catalog/*")),
//			weftgrpc.UnaryClientBreaker(b),
//			weftgrpc.UnaryClientRate(rate),
//		),
//	)
//
// UnaryClientRetry follows gRPC's retry rules (gRFC A6): only some codes are
// retried (Unavailable by default, and ResourceExhausted when the server
// asks for a retry with a grpc-retry-pushback-ms trailer), the server's
// pushback replaces the computed delay, a negative or malformed pushback
// stops the retries, and only idempotent methods are retried. Streams are
// retried only before their first response message.
//
// # Why not grpc-go's own retry
//
// grpc-go retries calls itself when the service config enables it, and that
// is the right choice when the server's owners publish the policy in the
// config and its exponential backoff with full jitter suits the callers.
// Use UnaryClientRetry instead when the client decides: it takes any
// retry.Policy (full, equal, decorrelated or no jitter, a constant delay,
// MaxElapsed, an OnRetry hook for logs and metrics); one retry.Budget can be
// shared by many methods, connections and even HTTP clients calling the same
// dependency, where grpc-go's retry throttling is per channel; a per-try
// deadline; calls refused by a breaker or rate limiter further down the
// chain are retried whatever the method; and when it gives up, its error is
// a *retry.Error that names every try (retry.Error.Errors) and says why it
// stopped, where grpc-go returns the last status only. Do not enable both for
// the same method: their attempts would multiply.
//
// # Errors
//
// Every error the interceptors make themselves is an *Error: a gRPC status
// error (status.Code sees its Code) that wraps the weft error behind it, so
// that errors.Is(err, breaker.ErrOpen), errors.Is(err, timeout.ErrTimeout),
// errors.Is(err, limiter.ErrRateExceeded), errors.Is(err,
// retry.ErrExhausted) and errors.As(err, &retryErr) work on what a gRPC
// client returns. Errors from the server pass through unchanged.
//
// # Server
//
// UnaryServerRate limits each client host (PeerIP) or each tenant named in
// metadata (MetadataKey) with a limiter.Keyed, answering ResourceExhausted
// with a pushback trailer; UnaryServerConcurrency bounds the calls in
// flight with a limiter.Bulkhead or limiter.Adaptive; UnaryServerOverload
// sheds calls while a func() bool says the process is overloaded. The last
// two answer Unavailable, which clients retry.
//
// # Misuse
//
// As everywhere in weft, invalid configuration (a nil policy, breaker,
// limiter or function, a non-positive duration, a code that is not an
// error) makes the constructor panic with a message that starts with
// "weftgrpc:" and names the option and its value; conditions that happen in
// correct programs (open, timed out, rate exceeded, shed) are errors.
//
// # Cost
//
// On the success path UnaryClientRetry, UnaryClientBreaker and
// UnaryClientRate allocate nothing; UnaryClientTimeout allocates what
// context.WithTimeout does. See bench_test.go for the comparison with
// go-grpc-middleware's retry and ratelimit interceptors.
package weftgrpc
