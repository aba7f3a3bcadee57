package weftgrpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// waitState polls b until it reaches want: the breaker's open time is real
// time here, a few milliseconds, since the calls cross a real connection.
func waitState(t *testing.T, b *breaker.Breaker, want breaker.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("breaker is %v, want %v", b.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBreakerOpensAndProbes(t *testing.T) {
	var code codes.Code
	svc := &service{script: func(int) reply {
		if code == codes.OK {
			return reply{}
		}
		return reply{err: status.Error(code, "injected")}
	}}
	b := breaker.New(breaker.ConsecutiveFailures(3), breaker.OpenFor(5*time.Millisecond))
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientBreaker(b)))
	call := func() error {
		_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		return err
	}

	// The caller's mistakes say the server is up: they count as successes.
	for _, code = range []codes.Code{codes.InvalidArgument, codes.NotFound, codes.PermissionDenied, codes.InvalidArgument, codes.NotFound} {
		if err := call(); status.Code(err) != code {
			t.Fatalf("err = %v, want %v", err, code)
		}
	}
	if st := b.Stats(); st.State != breaker.Closed || st.ConsecutiveFailures != 0 {
		t.Fatalf("after client errors: %+v, want closed with no failures", st)
	}

	// Three failures open it; the next call is not sent.
	for _, code = range []codes.Code{codes.Unavailable, codes.Internal, codes.DeadlineExceeded} {
		if err := call(); status.Code(err) != code {
			t.Fatalf("err = %v, want %v", err, code)
		}
	}
	sent := svc.calls.Load()
	err := call()
	if status.Code(err) != codes.Unavailable || !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("err = %v, want Unavailable matching breaker.ErrOpen", err)
	}
	var we *weftgrpc.Error
	if !errors.As(err, &we) || we.Code != codes.Unavailable {
		t.Fatalf("err = %#v, want a *weftgrpc.Error", err)
	}
	if svc.calls.Load() != sent {
		t.Fatal("a call the breaker rejected reached the server")
	}

	// After OpenFor a probe goes through; a failed probe reopens it.
	waitState(t, b, breaker.HalfOpen)
	code = codes.ResourceExhausted
	if err := call(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("probe: err = %v, want ResourceExhausted", err)
	}
	if s := b.State(); s != breaker.Open {
		t.Fatalf("after a failed probe the breaker is %v, want open", s)
	}
	// A successful probe closes it.
	waitState(t, b, breaker.HalfOpen)
	code = codes.OK
	if err := call(); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("after a good probe the breaker is %v, want closed", s)
	}
}

func TestBreakerIgnoresCanceled(t *testing.T) {
	svc := &service{hold: func(ctx context.Context) { <-ctx.Done() }}
	b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(time.Hour))
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientBreaker(b)))
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for svc.calls.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.Canceled {
			t.Fatalf("err = %v, want Canceled", err)
		}
		cancel()
	}
	if s := b.State(); s != breaker.Closed {
		t.Fatalf("cancelled calls opened the breaker: %v", s)
	}
}

func TestBreakerFailureCodes(t *testing.T) {
	svc := &service{script: failFirst(100, codes.NotFound, "")}
	b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Hour))
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientBreaker(b, weftgrpc.FailureCodes(codes.NotFound))))
	for range 3 {
		_, _ = c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	}
	if s := b.State(); s != breaker.Open {
		t.Fatalf("breaker %v, want open: NotFound was made a failure", s)
	}
	if n := svc.calls.Load(); n != 2 {
		t.Fatalf("server saw %d calls, want 2", n)
	}
}

func TestStreamBreaker(t *testing.T) {
	svc := &service{script: failFirst(2, codes.Unavailable, "")}
	b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(5*time.Millisecond))
	c := start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientBreaker(b)))
	for range 2 {
		s, err := c.StreamingOutputCall(context.Background(), threeMessages())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recvAll(s); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want Unavailable", err)
		}
	}
	if _, err := c.StreamingOutputCall(context.Background(), threeMessages()); !errors.Is(err, breaker.ErrOpen) || status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable matching breaker.ErrOpen", err)
	}
	waitState(t, b, breaker.HalfOpen)
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recvAll(s); n != 3 || err != nil {
		t.Fatalf("probe stream: %d messages, %v", n, err)
	}
	if st := b.State(); st != breaker.Closed {
		t.Fatalf("breaker %v after a good probe stream, want closed", st)
	}

	// A stream abandoned by cancelling its context gives its probe slot back.
	svc = &service{script: failFirst(1, codes.Unavailable, "")}
	b = breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(5*time.Millisecond))
	c = start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientBreaker(b)))
	if s, err := c.StreamingOutputCall(context.Background(), threeMessages()); err != nil {
		t.Fatal(err)
	} else if _, err := recvAll(s); status.Code(err) != codes.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	waitState(t, b, breaker.HalfOpen)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.StreamingOutputCall(ctx, threeMessages()); err != nil { // the probe
		t.Fatal(err)
	}
	if _, err := c.StreamingOutputCall(context.Background(), threeMessages()); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("err = %v while the probe runs, want breaker.ErrOpen", err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := c.StreamingOutputCall(context.Background(), threeMessages())
		if err == nil {
			if _, err := recvAll(s); err != nil {
				t.Fatal(err)
			}
			break
		}
		if !errors.Is(err, breaker.ErrOpen) || time.Now().After(deadline) {
			t.Fatalf("err = %v, want the probe slot back after cancel", err)
		}
		time.Sleep(time.Millisecond)
	}
	if st := b.State(); st != breaker.Closed {
		t.Fatalf("breaker %v, want closed", st)
	}
}

// A breaker below the retry interceptor: a rejected try is not sent, and is
// retried after the breaker's wait whatever the method.
func TestRetryOverBreaker(t *testing.T) {
	svc := &service{script: failFirst(1, codes.Unavailable, "")}
	b := breaker.New(breaker.ConsecutiveFailures(1), breaker.OpenFor(2*time.Millisecond))
	p := retry.New(retry.Attempts(50), retry.Constant(time.Millisecond))
	c := start(t, svc, nil, grpc.WithChainUnaryInterceptor(
		weftgrpc.UnaryClientRetry(p, weftgrpc.Idempotent(func(string) bool { return true })),
		weftgrpc.UnaryClientBreaker(b),
	))
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := svc.calls.Load(); n != 2 {
		t.Fatalf("server saw %d calls, want 2 (the failure and the probe)", n)
	}
}
