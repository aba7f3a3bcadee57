package weftgrpc_test

// Paired benchmarks, BenchmarkGRPC<Scenario>/<impl>: weft's interceptors
// against go-grpc-middleware v2's retry and ratelimit interceptors, on the
// success path. "InProcess" calls the interceptor with an invoker that
// succeeds at once, isolating the interceptor's own cost; "Loopback" makes
// real unary calls to a server on 127.0.0.1 through a client connection
// whose only interceptor is the one measured.

import (
	"context"
	"errors"
	"testing"

	grpcratelimit "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/ratelimit"
	grpcretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"

	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/weftgrpc"
)

// The limits are high enough never to refuse or delay a call in a
// benchmark, so that only the bookkeeping is measured.
const (
	benchRate  = 1e9
	benchBurst = 1 << 30 // a second of tolerance: a goroutine descheduled between its clock read and its update still fits
)

// allowLimiter and waitLimiter adapt x/time/rate, the limiter
// go-grpc-middleware's examples and users pair with its ratelimit
// interceptor.
type allowLimiter struct{ l *rate.Limiter }

var errLimited = errors.New("rate limited")

func (a allowLimiter) Limit(context.Context) error {
	if !a.l.Allow() {
		return errLimited
	}
	return nil
}

type waitLimiter struct{ l *rate.Limiter }

func (w waitLimiter) Limit(ctx context.Context) error { return w.l.Wait(ctx) }

func retryImpls() []struct {
	name string
	ic   grpc.UnaryClientInterceptor
} {
	return []struct {
		name string
		ic   grpc.UnaryClientInterceptor
	}{
		{"weft", weftgrpc.UnaryClientRetry(retry.New(retry.Attempts(4)), weftgrpc.Idempotent(func(string) bool { return true }))},
		{"go-grpc-middleware", grpcretry.UnaryClientInterceptor(grpcretry.WithMax(4), grpcretry.WithCodes(codes.Unavailable))},
	}
}

func rateImpls() []struct {
	name string
	ic   grpc.UnaryClientInterceptor
} {
	return []struct {
		name string
		ic   grpc.UnaryClientInterceptor
	}{
		{"weft", weftgrpc.UnaryClientRate(limiter.NewRate(benchRate, benchBurst), weftgrpc.FailFast())},
		{"go-grpc-middleware", grpcratelimit.UnaryClientInterceptor(allowLimiter{rate.NewLimiter(benchRate, benchBurst)})},
	}
}

func rateWaitImpls() []struct {
	name string
	ic   grpc.UnaryClientInterceptor
} {
	return []struct {
		name string
		ic   grpc.UnaryClientInterceptor
	}{
		{"weft", weftgrpc.UnaryClientRate(limiter.NewRate(benchRate, benchBurst))},
		{"go-grpc-middleware", grpcratelimit.UnaryClientInterceptor(waitLimiter{rate.NewLimiter(benchRate, benchBurst)})},
	}
}

func okInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// benchInProcess calls ic as a generated client does, with the
// grpc.StaticMethod option that generated code always passes.
func benchInProcess(b *testing.B, ic grpc.UnaryClientInterceptor) {
	ctx := context.Background()
	req, reply := &testgrpc.SimpleRequest{}, &testgrpc.SimpleResponse{}
	static := []grpc.CallOption{grpc.StaticMethod()} // made once, as a benchmark of the interceptor alone
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := ic(ctx, unaryCall, req, reply, nil, okInvoker, static...); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchLoopback(b *testing.B, ic grpc.UnaryClientInterceptor) {
	c := start(b, &service{}, nil, grpc.WithUnaryInterceptor(ic))
	ctx := context.Background()
	req := &testgrpc.SimpleRequest{}
	if _, err := c.UnaryCall(ctx, req); err != nil { // connect
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.UnaryCall(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGRPCRetryInProcess(b *testing.B) {
	for _, impl := range retryImpls() {
		b.Run(impl.name, func(b *testing.B) { benchInProcess(b, impl.ic) })
	}
}

func BenchmarkGRPCRetryLoopback(b *testing.B) {
	for _, impl := range retryImpls() {
		b.Run(impl.name, func(b *testing.B) { benchLoopback(b, impl.ic) })
	}
}

func BenchmarkGRPCRateInProcess(b *testing.B) {
	for _, impl := range rateImpls() {
		b.Run(impl.name, func(b *testing.B) { benchInProcess(b, impl.ic) })
	}
}

func BenchmarkGRPCRateWaitInProcess(b *testing.B) {
	for _, impl := range rateWaitImpls() {
		b.Run(impl.name, func(b *testing.B) { benchInProcess(b, impl.ic) })
	}
}

func BenchmarkGRPCRateLoopback(b *testing.B) {
	for _, impl := range rateImpls() {
		b.Run(impl.name, func(b *testing.B) { benchLoopback(b, impl.ic) })
	}
}
