package weftgrpc_test

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"github.com/weftgo/weft/timeout"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestClientTimeout(t *testing.T) {
	svc := &service{hold: func(ctx context.Context) { <-ctx.Done() }}
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientTimeout(2*time.Millisecond)))
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, timeout.ErrTimeout) {
		t.Fatalf("err = %v, want DeadlineExceeded matching timeout.ErrTimeout", err)
	}
	var te *timeout.Error
	if !errors.As(err, &te) || te.Duration != 2*time.Millisecond {
		t.Fatalf("err = %#v, want a *timeout.Error of 2ms", err)
	}

	// The caller's own deadline is not the interceptor's.
	c = start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientTimeout(time.Hour)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
	defer cancel()
	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.DeadlineExceeded || errors.Is(err, timeout.ErrTimeout) {
		t.Fatalf("err = %v, want DeadlineExceeded not matching timeout.ErrTimeout", err)
	}
}

func TestStreamClientTimeout(t *testing.T) {
	svc := &service{}
	c := start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientTimeout(time.Hour)))
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recvAll(s); n != 3 || err != nil {
		t.Fatalf("%d messages, %v", n, err)
	}

	c = start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientTimeout(time.Millisecond)))
	s, err = c.StreamingOutputCall(context.Background(), threeMessages())
	if err == nil {
		time.Sleep(2 * time.Millisecond)
		for err == nil {
			_, err = s.Recv()
		}
	}
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, timeout.ErrTimeout) {
		t.Fatalf("err = %v, want DeadlineExceeded matching timeout.ErrTimeout", err)
	}
}

func TestClientRate(t *testing.T) {
	svc := &service{}
	c := start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientRate(limiter.NewRate(limiter.Every(time.Hour), 1), weftgrpc.FailFast())))
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.ResourceExhausted || !errors.Is(err, limiter.ErrRateExceeded) {
		t.Fatalf("err = %v, want ResourceExhausted matching limiter.ErrRateExceeded", err)
	}
	if n := svc.calls.Load(); n != 1 {
		t.Fatalf("server saw %d calls, want 1", n)
	}

	// Waiting: a wait that would outlast the deadline fails at once, and a
	// cancelled wait says Canceled.
	r := limiter.NewRate(limiter.Every(time.Hour), 1)
	c = start(t, svc, nil, grpc.WithUnaryInterceptor(weftgrpc.UnaryClientRate(r)))
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.ResourceExhausted || !errors.Is(err, limiter.ErrRateExceeded) {
		t.Fatalf("err = %v, want ResourceExhausted matching limiter.ErrRateExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}

	// Streams take one event each.
	c = start(t, svc, nil, grpc.WithStreamInterceptor(weftgrpc.StreamClientRate(limiter.NewRate(limiter.Every(time.Hour), 1), weftgrpc.FailFast())))
	if _, err := c.StreamingOutputCall(context.Background(), threeMessages()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StreamingOutputCall(context.Background(), threeMessages()); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("err = %v, want ResourceExhausted", err)
	}
}

func TestServerRatePerPeer(t *testing.T) {
	svc := &service{}
	k := limiter.NewKeyed(func(netip.Addr) *limiter.Rate { return limiter.NewRate(limiter.Every(time.Hour), 2) })
	var seen atomic.Value
	key := func(ctx context.Context) netip.Addr {
		ip := weftgrpc.PeerIP(ctx)
		seen.Store(ip)
		return ip
	}
	c := start(t, svc, []grpc.ServerOption{
		grpc.UnaryInterceptor(weftgrpc.UnaryServerRate(k, key)),
		grpc.StreamInterceptor(weftgrpc.StreamServerRate(k, key)),
	})
	for range 2 {
		if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	var trailer metadata.MD
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), limiter.ErrRateExceeded.Error()) {
		t.Fatalf("err = %v, want ResourceExhausted", err)
	}
	if got := seen.Load().(netip.Addr); got != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("PeerIP = %v, want 127.0.0.1", got)
	}
	ms, err := strconv.Atoi(trailer.Get(weftgrpc.PushbackKey)[0])
	if err != nil || ms < 59*60*1000 || ms > 60*60*1000 {
		t.Fatalf("pushback %q, want about an hour in ms", trailer.Get(weftgrpc.PushbackKey))
	}
	if n := svc.calls.Load(); n != 2 {
		t.Fatalf("server handled %d calls, want 2", n)
	}
	// The peer's limit covers its streams too.
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err == nil {
		_, err = recvAll(s)
	}
	if status.Code(err) != codes.ResourceExhausted || s.Trailer().Get(weftgrpc.PushbackKey) == nil {
		t.Fatalf("stream: err = %v, trailer %v; want ResourceExhausted with a pushback", err, s.Trailer())
	}
}

func TestServerRatePushbackRetried(t *testing.T) {
	svc := &service{}
	// 200 calls a second, one at a time: the second call of a burst is
	// pushed back 5ms, and the client's retry waits exactly that.
	k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(200, 1) })
	var ev events
	p := retry.New(retry.Attempts(3), retry.Constant(time.Hour), retry.OnRetry(ev.add))
	c := start(t, svc,
		[]grpc.ServerOption{grpc.UnaryInterceptor(weftgrpc.UnaryServerRate(k, weftgrpc.MetadataKey("tenant")))},
		grpc.WithUnaryInterceptor(weftgrpc.UnaryClientRetry(p, weftgrpc.IdempotentMethods(unaryCall))))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "tenant", "a")
	for range 2 {
		if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := svc.calls.Load(); n != 2 {
		t.Fatalf("server handled %d calls, want 2", n)
	}
	for _, e := range ev.get() {
		if !e.After || e.Delay <= 0 || e.Delay > 5*time.Millisecond || status.Code(e.Err) != codes.ResourceExhausted {
			t.Fatalf("retry %+v, want a pushback of at most 5ms after ResourceExhausted", e)
		}
	}
}

func TestServerRatePerMetadataKey(t *testing.T) {
	svc := &service{}
	k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(limiter.Every(time.Hour), 1) })
	c := start(t, svc, []grpc.ServerOption{grpc.UnaryInterceptor(weftgrpc.UnaryServerRate(k, weftgrpc.MetadataKey("tenant")))})
	call := func(tenant string) codes.Code {
		ctx := context.Background()
		if tenant != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "tenant", tenant)
		}
		_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		return status.Code(err)
	}
	for _, tc := range []struct {
		tenant string
		want   codes.Code
	}{{"a", codes.OK}, {"b", codes.OK}, {"a", codes.ResourceExhausted}, {"", codes.OK}, {"", codes.ResourceExhausted}, {"b", codes.ResourceExhausted}} {
		if got := call(tc.tenant); got != tc.want {
			t.Fatalf("tenant %q: %v, want %v", tc.tenant, got, tc.want)
		}
	}
}

func TestServerConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    weftgrpc.Acquirer
	}{
		{"Bulkhead", limiter.NewBulkhead(1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			entered := make(chan struct{}, 1)
			svc := &service{hold: func(ctx context.Context) {
				entered <- struct{}{}
				<-release
			}}
			c := start(t, svc, []grpc.ServerOption{
				grpc.UnaryInterceptor(weftgrpc.UnaryServerConcurrency(tc.a)),
				grpc.StreamInterceptor(weftgrpc.StreamServerConcurrency(tc.a)),
			})
			done := make(chan error)
			go func() {
				_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
				done <- err
			}()
			<-entered
			_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
			if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), limiter.ErrFull.Error()) {
				t.Errorf("err = %v, want Unavailable from a full bulkhead", err)
			}
			s, err := c.StreamingOutputCall(context.Background(), threeMessages())
			if err == nil {
				_, err = recvAll(s)
			}
			if status.Code(err) != codes.Unavailable {
				t.Errorf("stream: err = %v, want Unavailable", err)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
				t.Fatalf("after the slot was freed: %v", err)
			}
		})
	}
}

func TestServerConcurrencyAdaptive(t *testing.T) {
	a := limiter.NewAdaptive(limiter.InitialLimit(1), limiter.MaxLimit(1))
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	svc := &service{hold: func(ctx context.Context) {
		entered <- struct{}{}
		<-release
	}}
	c := start(t, svc, []grpc.ServerOption{grpc.UnaryInterceptor(weftgrpc.UnaryServerConcurrency(a))})
	done := make(chan error)
	go func() {
		_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		done <- err
	}()
	<-entered
	// Adaptive queues: a caller whose deadline passes while queued gets
	// DeadlineExceeded.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServerOverload(t *testing.T) {
	var overloaded atomic.Bool
	svc := &service{}
	c := start(t, svc, []grpc.ServerOption{
		grpc.UnaryInterceptor(weftgrpc.UnaryServerOverload(overloaded.Load)),
		grpc.StreamInterceptor(weftgrpc.StreamServerOverload(overloaded.Load)),
	})
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	overloaded.Store(true)
	_, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), weftgrpc.ErrOverloaded.Error()) {
		t.Fatalf("err = %v, want Unavailable: overloaded", err)
	}
	s, err := c.StreamingOutputCall(context.Background(), threeMessages())
	if err == nil {
		_, err = recvAll(s)
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stream: err = %v, want Unavailable", err)
	}
	overloaded.Store(false)
	if _, err := c.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}); err != nil {
		t.Fatal(err)
	}
	if n := svc.calls.Load(); n != 2 {
		t.Fatalf("server handled %d calls, want 2", n)
	}
}
