package weftgrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/weftgo/weft/weftgrpc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// reply is what the test service answers for one call: err (nil for a
// success) and a pushback trailer ("" for none).
type reply struct {
	err      error
	pushback string
}

// service is the interop TestService, scripted: script(n) decides the
// outcome of the n-th call (from 1), counted over all methods.
type service struct {
	testgrpc.UnimplementedTestServiceServer
	calls  atomic.Int32
	script func(n int) reply
	// hold, when set, is called by UnaryCall before it answers.
	hold func(ctx context.Context)
	// failAfterFirst makes StreamingOutputCall fail with this error after
	// its first message.
	failAfterFirst error
}

func (s *service) next(ctx context.Context, setTrailer func(metadata.MD)) error {
	n := int(s.calls.Add(1))
	if s.script == nil {
		return nil
	}
	r := s.script(n)
	if r.pushback != "" {
		setTrailer(metadata.Pairs(weftgrpc.PushbackKey, r.pushback))
	}
	return r.err
}

func (s *service) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if err := s.next(ctx, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }); err != nil {
		return nil, err
	}
	if s.hold != nil {
		s.hold(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return &testgrpc.SimpleResponse{Username: fmt.Sprint(s.calls.Load())}, nil
}

func (s *service) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	if err := s.next(ctx, func(md metadata.MD) { _ = grpc.SetTrailer(ctx, md) }); err != nil {
		return nil, err
	}
	return &testgrpc.Empty{}, nil
}

// StreamingOutputCall sends one message per ResponseParameters entry.
func (s *service) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream testgrpc.TestService_StreamingOutputCallServer) error {
	if err := s.next(stream.Context(), stream.SetTrailer); err != nil {
		return err
	}
	for i := range req.GetResponseParameters() {
		if i == 1 && s.failAfterFirst != nil {
			return s.failAfterFirst
		}
		if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
	return nil
}

// start serves svc on a listener on 127.0.0.1 until t ends, and returns a
// client connected to it through the interceptors in dopts.
func start(t testing.TB, svc testgrpc.TestServiceServer, sopts []grpc.ServerOption, dopts ...grpc.DialOption) testgrpc.TestServiceClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(sopts...)
	testgrpc.RegisterTestServiceServer(srv, svc)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Serve(lis)
	}()
	dopts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dopts...)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), dopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		wg.Wait()
	})
	return testgrpc.NewTestServiceClient(conn)
}
