package weftgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// serve runs svc on 127.0.0.1 with the server options sopts, and returns a
// client connected through the dial options dopts and a function that
// stops both.
func serve(svc testgrpc.TestServiceServer, sopts []grpc.ServerOption, dopts ...grpc.DialOption) (testgrpc.TestServiceClient, func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(sopts...)
	testgrpc.RegisterTestServiceServer(srv, svc)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), dopts...)
	if err != nil {
		panic(err)
	}
	return testgrpc.NewTestServiceClient(conn), func() {
		_ = conn.Close()
		srv.Stop()
		<-served
	}
}

// flaky answers Unavailable to its first two calls, asking the client to
// come back in a millisecond, then succeeds.
type flaky struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int32
}

func (f *flaky) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if f.calls.Add(1) <= 2 {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(weftgrpc.PushbackKey, "1"))
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &testgrpc.SimpleResponse{Username: "ok"}, nil
}

func ExampleUnaryClientRetry() {
	svc := &flaky{}
	policy := retry.New(retry.Attempts(5), retry.Exponential(100*time.Millisecond, 2*time.Second))
	client, stop := serve(svc, nil, grpc.WithUnaryInterceptor(
		weftgrpc.UnaryClientRetry(policy,
			// UnaryCall is safe to repeat; other methods are not retried.
			weftgrpc.IdempotentMethods(testgrpc.TestService_UnaryCall_FullMethodName)),
	))
	defer stop()

	resp, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(resp.GetUsername(), err, "after", svc.calls.Load(), "calls")
	// Output: ok <nil> after 3 calls
}

// hello always answers.
type hello struct {
	testgrpc.UnimplementedTestServiceServer
}

func (hello) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{Username: "hello"}, nil
}

// down always answers Unavailable.
type down struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int32
}

func (d *down) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	d.calls.Add(1)
	return nil, status.Error(codes.Unavailable, "down")
}

func ExampleUnaryClientBreaker() {
	svc := &down{}
	b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Minute))
	client, stop := serve(svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientBreaker(b)))
	defer stop()

	for range 3 {
		_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		fmt.Println(status.Code(err), errors.Is(err, breaker.ErrOpen))
	}
	fmt.Println("the server saw", svc.calls.Load(), "calls; the breaker is", b.State())
	// Output:
	// Unavailable false
	// Unavailable false
	// Unavailable true
	// the server saw 2 calls; the breaker is open
}

// slow answers when its caller gives up.
type slow struct {
	testgrpc.UnimplementedTestServiceServer
}

func (slow) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func ExampleUnaryClientTimeout() {
	client, stop := serve(slow{}, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientTimeout(10*time.Millisecond)))
	defer stop()

	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(status.Code(err), errors.Is(err, timeout.ErrTimeout))
	// Output: DeadlineExceeded true
}

func ExampleUnaryClientRate() {
	// One call an hour, refused at once beyond that.
	r := limiter.NewRate(limiter.Every(time.Hour), 1)
	client, stop := serve(hello{}, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientRate(r, weftgrpc.FailFast())))
	defer stop()

	for range 2 {
		_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		fmt.Println(status.Code(err), errors.Is(err, limiter.ErrRateExceeded))
	}
	// Output:
	// OK false
	// ResourceExhausted true
}

func ExampleUnaryServerRate() {
	// Each client host may make two calls, then one a minute.
	perHost := limiter.NewKeyed(func(netip.Addr) *limiter.Rate {
		return limiter.NewRate(limiter.Every(time.Minute), 2)
	}, limiter.MaxKeys(10_000))
	client, stop := serve(hello{}, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(weftgrpc.UnaryServerRate(perHost, weftgrpc.PeerIP)),
	})
	defer stop()

	for range 3 {
		var trailer metadata.MD
		_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
		fmt.Println(status.Code(err), len(trailer.Get(weftgrpc.PushbackKey)) == 1)
	}
	// Output:
	// OK false
	// OK false
	// ResourceExhausted true
}

func ExampleUnaryServerConcurrency() {
	// At most 64 calls at once, 128 more waiting; beyond that, Unavailable.
	bulkhead := limiter.NewBulkhead(64, 128)
	client, stop := serve(hello{}, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(weftgrpc.UnaryServerConcurrency(bulkhead)),
	})
	defer stop()

	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(status.Code(err), bulkhead.Stats().Completed)
	// Output: OK 1
}

func ExampleUnaryServerOverload() {
	var overloaded atomic.Bool // set by a monitor of the process's health
	client, stop := serve(hello{}, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(weftgrpc.UnaryServerOverload(overloaded.Load)),
	})
	defer stop()

	overloaded.Store(true)
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output: Unavailable weftgrpc: server overloaded
}

func ExampleError() {
	// What a client interceptor returns for a call the breaker rejected.
	b := breaker.New()
	b.ForceOpen()
	ic := weftgrpc.UnaryClientBreaker(b)
	err := ic(context.Background(), "/pkg.Service/Method", nil, nil, nil,
		func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil })

	var e *weftgrpc.Error
	fmt.Println(errors.As(err, &e), e.Code, status.Code(err), errors.Is(err, breaker.ErrOpen))
	// Output: true Unavailable Unavailable true
}

// stream sends three messages, but fails its first stream before sending
// anything.
type stream struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int32
}

func (s *stream) StreamingOutputCall(_ *testgrpc.StreamingOutputCallRequest, out testgrpc.TestService_StreamingOutputCallServer) error {
	if s.calls.Add(1) == 1 {
		return status.Error(codes.Unavailable, "restarting")
	}
	for range 3 {
		if err := out.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

func ExampleStreamClientRetry() {
	svc := &stream{}
	policy := retry.New(retry.Attempts(3), retry.Constant(time.Millisecond))
	client, stop := serve(svc, nil, grpc.WithStreamInterceptor(
		weftgrpc.StreamClientRetry(policy,
			weftgrpc.IdempotentMethods(testgrpc.TestService_StreamingOutputCall_FullMethodName)),
	))
	defer stop()

	s, err := client.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		panic(err)
	}
	n := 0
	for {
		if _, err := s.Recv(); err != nil {
			fmt.Println(n, "messages, then", err, "; streams opened:", svc.calls.Load())
			break
		}
		n++
	}
	// Output: 3 messages, then EOF ; streams opened: 2
}
