package weftgrpc_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// picky fails every odd try of a call; the pushback it sends says whether
// the caller may retry ("0") or not ("-1"), as the request asks. The calls of
// many goroutines interleave, so a trailer read into the wrong call's state
// would show as a wrong outcome.
type picky struct {
	testgrpc.UnimplementedTestServiceServer
	tries sync.Map // call id -> *atomic.Int32, the tries so far
}

func (p *picky) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	id := req.GetResponseSize() // the call's id
	v, _ := p.tries.LoadOrStore(id, new(atomic.Int32))
	if v.(*atomic.Int32).Add(1)%2 == 1 {
		pb := "0"
		if id%2 == 1 {
			pb = "-1"
		}
		_ = grpc.SetTrailer(ctx, metadata.Pairs(weftgrpc.PushbackKey, pb))
		return nil, status.Error(codes.Unavailable, "odd try")
	}
	return &testgrpc.SimpleResponse{Username: strconv.Itoa(int(id))}, nil
}

func TestRetryConcurrentCalls(t *testing.T) {
	svc := &picky{}
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(
		weftgrpc.UnaryClientRetry(p, weftgrpc.IdempotentMethods(unaryCall))))
	const goroutines, calls = 16, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				id := int32(g*calls + i)
				_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{ResponseSize: id})
				if id%2 == 1 {
					if status.Code(err) != codes.Unavailable {
						t.Errorf("call %d: %v, want Unavailable: a negative pushback stops retries", id, err)
					}
				} else if err != nil {
					t.Errorf("call %d: %v", id, err)
				}
			}
		}()
	}
	wg.Wait()
}
