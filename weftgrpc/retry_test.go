package weftgrpc_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

var (
	unaryCall  = testgrpc.TestService_UnaryCall_FullMethodName
	streamCall = testgrpc.TestService_StreamingOutputCall_FullMethodName
)

// failFirst scripts n failures with code and pushback, then successes.
func failFirst(n int, code codes.Code, pushback string) func(int) reply {
	return func(i int) reply {
		if i <= n {
			return reply{err: status.Error(code, "injected"), pushback: pushback}
		}
		return reply{}
	}
}

// events records a policy's retries.
type events struct {
	mu sync.Mutex
	ev []retry.Event
}

func (e *events) add(ev retry.Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }
func (e *events) get() []retry.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]retry.Event(nil), e.ev...)
}

func unaryRetryClient(t *testing.T, svc *service, p *retry.Policy, opts ...weftgrpc.RetryOption) testgrpc.TestServiceClient {
	return start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientRetry(p, opts...)))
}

func TestRetryPushback(t *testing.T) {
	svc := &service{script: failFirst(2, codes.Unavailable, "2")}
	var ev events
	// The policy's own delay is an hour: only the pushback lets this pass.
	p := retry.New(retry.Attempts(5), retry.Constant(time.Hour), retry.OnRetry(ev.add))
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods(unaryCall))
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := svc.calls.Load(); n < 3 { // more if a busy machine made a later try slow too
		t.Fatalf("server saw %d calls, want 3: the hung try was not retried", n)
	}
	got := ev.get()
	if len(got) != 2 {
		t.Fatalf("%d retries, want 2", len(got))
	}
	for _, e := range got {
		if !e.After || e.Delay != 2*time.Millisecond || status.Code(e.Err) != codes.Unavailable {
			t.Errorf("retry event %+v, want After with 2ms and an Unavailable error", e)
		}
	}
}

func TestRetryCodes(t *testing.T) {
	fast := retry.New(retry.Attempts(3), retry.Constant(0))
	all := weftgrpc.Idempotent(func(string) bool { return true })
	tests := []struct {
		name     string
		code     codes.Code
		pushback string
		opts     []weftgrpc.RetryOption
		calls    int32
		wantErr  codes.Code
	}{
		{"unavailable", codes.Unavailable, "", nil, 3, codes.OK},
		{"resource exhausted without pushback", codes.ResourceExhausted, "", nil, 1, codes.ResourceExhausted},
		{"resource exhausted with pushback", codes.ResourceExhausted, "0", nil, 3, codes.OK},
		{"negative pushback", codes.Unavailable, "-1", nil, 1, codes.Unavailable},
		{"malformed pushback", codes.Unavailable, "soon", nil, 1, codes.Unavailable},
		{"invalid argument", codes.InvalidArgument, "", nil, 1, codes.InvalidArgument},
		{"configured codes", codes.Aborted, "", []weftgrpc.RetryOption{weftgrpc.RetryCodes(codes.Aborted)}, 3, codes.OK},
		{"configured codes drop unavailable", codes.Unavailable, "", []weftgrpc.RetryOption{weftgrpc.RetryCodes(codes.Aborted)}, 1, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &service{script: failFirst(2, tt.code, tt.pushback)}
			c := unaryRetryClient(t, svc, fast, append([]weftgrpc.RetryOption{all}, tt.opts...)...)
			_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
			if got := status.Code(err); got != tt.wantErr {
				t.Errorf("code %v (%v), want %v", got, err, tt.wantErr)
			}
			if n := svc.calls.Load(); n != tt.calls {
				t.Errorf("server saw %d calls, want %d", n, tt.calls)
			}
			if err != nil && tt.calls == 1 {
				// Not retried: the server's error comes back as it was.
				if _, ok := err.(*weftgrpc.Error); ok {
					t.Errorf("error %T, want the server's status error", err)
				}
			}
		})
	}
}

func TestRetryNotIdempotent(t *testing.T) {
	p := retry.New(retry.Attempts(5), retry.Constant(0))
	for _, opts := range [][]weftgrpc.RetryOption{
		nil, // the default trusts the .proto, which says nothing: not retried
		{weftgrpc.IdempotentMethods(testgrpc.TestService_EmptyCall_FullMethodName)},
		{weftgrpc.Idempotent(func(m string) bool { return m != unaryCall })},
	} {
		svc := &service{script: failFirst(1, codes.Unavailable, "0")}
		c := unaryRetryClient(t, svc, p, opts...)
		_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want Unavailable", err)
		}
		if n := svc.calls.Load(); n != 1 {
			t.Fatalf("a method that is not idempotent was called %d times", n)
		}
	}
	// A whole service named with "/*" is retried.
	svc := &service{script: failFirst(1, codes.Unavailable, "")}
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods("/grpc.testing.TestService/*"))
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestRetryExhausted(t *testing.T) {
	svc := &service{script: failFirst(100, codes.Unavailable, "")}
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods(unaryCall))
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Unavailable || !errors.Is(err, retry.ErrExhausted) {
		t.Fatalf("err = %v, want Unavailable matching retry.ErrExhausted", err)
	}
	var re *retry.Error
	if !errors.As(err, &re) || re.Attempts != 3 || len(re.Errors) != 3 {
		t.Fatalf("err = %#v, want a *retry.Error naming 3 tries", err)
	}
	for _, e := range re.Errors {
		if status.Code(e) != codes.Unavailable {
			t.Errorf("try error %v, want Unavailable", e)
		}
	}
}

func TestRetryBudget(t *testing.T) {
	svc := &service{script: failFirst(100, codes.Unavailable, "")}
	// A first try earns a tenth of a retry: not enough for one.
	p := retry.New(retry.Attempts(3), retry.Constant(0), retry.WithBudget(retry.NewBudget(0.1, 0)))
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods(unaryCall))
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if !errors.Is(err, retry.ErrBudgetExhausted) || status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable matching retry.ErrBudgetExhausted", err)
	}
	if n := svc.calls.Load(); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}
}

func TestRetryCallerCancels(t *testing.T) {
	svc := &service{script: failFirst(100, codes.Unavailable, "")}
	ctx, cancel := context.WithCancel(context.Background())
	p := retry.New(retry.Attempts(10), retry.Constant(0), retry.OnRetry(func(e retry.Event) {
		if e.Attempt == 2 {
			cancel()
		}
	}))
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods(unaryCall))
	_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func TestRetryAttemptTimeout(t *testing.T) {
	svc := &service{}
	svc.hold = func(ctx context.Context) {
		if svc.calls.Load() == 2 {
			<-ctx.Done() // the first try after the warm-up hangs until its deadline
		}
	}
	// The deadline is long enough for a try on a busy machine; only the hung
	// one should reach it.
	p := retry.New(retry.Attempts(10), retry.Constant(0))
	c := unaryRetryClient(t, svc, p, weftgrpc.IdempotentMethods(unaryCall), weftgrpc.AttemptTimeout(100*time.Millisecond))
	for range 2 { // a warm-up call connects, so that the second is timed alone
		if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := svc.calls.Load(); n < 3 { // more if a busy machine made a later try slow too
		t.Fatalf("server saw %d calls, want 3: the hung try was not retried", n)
	}

	// Every try hangs: the error says the tries' own deadline passed.
	hung := &service{hold: func(ctx context.Context) { <-ctx.Done() }}
	c = unaryRetryClient(t, hung, retry.New(retry.Attempts(2), retry.Constant(0)),
		weftgrpc.IdempotentMethods(unaryCall), weftgrpc.AttemptTimeout(2*time.Millisecond))
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, timeout.ErrTimeout) || !errors.Is(err, retry.ErrExhausted) {
		t.Fatalf("err = %v, want DeadlineExceeded matching timeout.ErrTimeout and retry.ErrExhausted", err)
	}
}

func streamRetryClient(t *testing.T, svc *service, p *retry.Policy, opts ...weftgrpc.RetryOption) testgrpc.TestServiceClient {
	return start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientRetry(p, opts...)))
}

// recvAll reads a stream to its end and returns the messages and the error
// that ended it (nil for io.EOF).
func recvAll(s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]) (int, error) {
	n := 0
	for {
		_, err := s.Recv()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func threeMessages() *testgrpc.StreamingOutputCallRequest {
	return &testgrpc.StreamingOutputCallRequest{ResponseParameters: make([]*testgrpc.ResponseParameters, 3)}
}

func TestStreamRetryBeforeFirstMessage(t *testing.T) {
	svc := &service{script: failFirst(2, codes.Unavailable, "1")}
	var ev events
	p := retry.New(retry.Attempts(5), retry.Constant(time.Hour), retry.OnRetry(ev.add))
	c := streamRetryClient(t, svc, p, weftgrpc.IdempotentMethods(streamCall))
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	n, err := recvAll(s)
	if err != nil || n != 3 {
		t.Fatalf("got %d messages and %v, want 3 and the end", n, err)
	}
	if calls := svc.calls.Load(); calls != 3 {
		t.Fatalf("server saw %d streams, want 3", calls)
	}
	for _, e := range ev.get() {
		if !e.After || e.Delay != time.Millisecond {
			t.Errorf("retry event %+v, want the server's 1ms pushback", e)
		}
	}
}

func TestStreamNoRetryAfterFirstMessage(t *testing.T) {
	svc := &service{failAfterFirst: status.Error(codes.Unavailable, "injected")}
	p := retry.New(retry.Attempts(5), retry.Constant(0))
	c := streamRetryClient(t, svc, p, weftgrpc.IdempotentMethods(streamCall))
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	n, err := recvAll(s)
	if n != 1 || status.Code(err) != codes.Unavailable {
		t.Fatalf("got %d messages and %v, want 1 and Unavailable", n, err)
	}
	if calls := svc.calls.Load(); calls != 1 {
		t.Fatalf("server saw %d streams, want 1: a stream must not be retried after its first message", calls)
	}
}

func TestStreamRetryExhausted(t *testing.T) {
	svc := &service{script: failFirst(100, codes.Unavailable, "")}
	p := retry.New(retry.Attempts(2), retry.Constant(0))
	c := streamRetryClient(t, svc, p, weftgrpc.IdempotentMethods(streamCall))
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvAll(s); status.Code(err) != codes.Unavailable || !errors.Is(err, retry.ErrExhausted) {
		t.Fatalf("err = %v, want Unavailable matching retry.ErrExhausted", err)
	}
	if calls := svc.calls.Load(); calls != 2 {
		t.Fatalf("server saw %d streams, want 2", calls)
	}
	// A stream that is not idempotent is not retried.
	svc = &service{script: failFirst(1, codes.Unavailable, "")}
	c = streamRetryClient(t, svc, p)
	s, err = c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvAll(s); status.Code(err) != codes.Unavailable || svc.calls.Load() != 1 {
		t.Fatalf("err = %v after %d streams, want Unavailable after 1", err, svc.calls.Load())
	}
}

func TestStreamRetryEmptyStream(t *testing.T) {
	svc := &service{script: failFirst(1, codes.Unavailable, "")}
	c := streamRetryClient(t, svc, retry.New(retry.Constant(0)), weftgrpc.IdempotentMethods(streamCall))
	s, err := c.StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recvAll(s); n != 0 || err != nil {
		t.Fatalf("got %d messages and %v, want an empty stream", n, err)
	}
}
