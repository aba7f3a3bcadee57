package weftgrpc

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/breaker"
	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestPushback(t *testing.T) {
	for _, tc := range []struct {
		v              []string
		d              time.Duration
		present, valid bool
	}{
		{nil, 0, false, false},
		{[]string{"0"}, 0, true, true},
		{[]string{"250"}, 250 * time.Millisecond, true, true},
		{[]string{" 7 "}, 7 * time.Millisecond, true, true},
		{[]string{"-1"}, 0, true, false},
		{[]string{"1.5"}, 0, true, false},
		{[]string{""}, 0, true, false},
		{[]string{"99999999999999999999"}, 0, true, false},
		{[]string{"9223372036855"}, 0, true, false}, // over time.Duration's range
	} {
		md := metadata.MD{}
		if tc.v != nil {
			md[PushbackKey] = tc.v
		}
		d, present, valid := pushback(md)
		if d != tc.d || present != tc.present || valid != tc.valid {
			t.Errorf("pushback(%q) = %v, %v, %v; want %v, %v, %v", tc.v, d, present, valid, tc.d, tc.present, tc.valid)
		}
	}
}

// TestProtoIdempotent registers a service whose .proto marks one method
// IDEMPOTENT and one NO_SIDE_EFFECTS, as generated code would.
func TestProtoIdempotent(t *testing.T) {
	registerIdem.Do(func() { registerIdemFile(t) })
	c := newRetryConfig(nil)
	for range 2 { // the second round is answered from the memo
		for m, want := range map[string]bool{
			"/weftgrpc.test.Idem/Put":     true,
			"/weftgrpc.test.Idem/Get":     true,
			"/weftgrpc.test.Idem/Post":    false,
			"/weftgrpc.test.Idem/Missing": false,
			"/no.Such/Method":             false,
			"garbage":                     false,
		} {
			if got := c.idempotent(m); got != want {
				t.Errorf("idempotent(%q) = %v, want %v", m, got, want)
			}
		}
	}
}

// registerIdem registers idem.proto once per process (-count runs tests
// again in the same process).
var registerIdem sync.Once

func registerIdemFile(t *testing.T) {
	level := func(l descriptorpb.MethodOptions_IdempotencyLevel) *descriptorpb.MethodOptions {
		return &descriptorpb.MethodOptions{IdempotencyLevel: l.Enum()}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("weftgrpc_test/idem.proto"),
		Package:    proto.String("weftgrpc.test"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Syntax:     proto.String("proto3"),
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Idem"),
			Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("Put"), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty"), Options: level(descriptorpb.MethodOptions_IDEMPOTENT)},
				{Name: proto.String("Get"), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty"), Options: level(descriptorpb.MethodOptions_NO_SIDE_EFFECTS)},
				{Name: proto.String("Post"), InputType: proto.String(".google.protobuf.Empty"), OutputType: proto.String(".google.protobuf.Empty")},
			},
		}},
	}
	_ = emptypb.Empty{}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
}

// nopInvoker stands for the network: it succeeds at once.
func nopInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

func TestSuccessPathAllocs(t *testing.T) {
	ctx := context.Background()
	for name, ic := range map[string]grpc.UnaryClientInterceptor{
		"retry":          UnaryClientRetry(retry.New()),
		"retry+budget":   UnaryClientRetry(retry.New(retry.WithBudget(retry.NewBudget(0.1, 10)))),
		"breaker":        UnaryClientBreaker(breaker.New()),
		"rate":           UnaryClientRate(limiter.NewRate(limiter.Inf, 1)),
		"rate fail-fast": UnaryClientRate(limiter.NewRate(limiter.Inf, 1), FailFast()),
	} {
		if n := testing.AllocsPerRun(1000, func() {
			if err := ic(ctx, "/s/M", nil, nil, nil, nopInvoker); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocs per call, want 0", name, n)
		}
	}
	// Refusals allocate nothing either.
	rate := UnaryClientRate(limiter.NewRate(limiter.Every(time.Hour), 1), FailFast())
	_ = rate(ctx, "/s/M", nil, nil, nil, nopInvoker)
	b := breaker.New()
	b.ForceOpen()
	overload := UnaryServerOverload(func() bool { return true })
	if n := testing.AllocsPerRun(1000, func() {
		if rate(ctx, "/s/M", nil, nil, nil, nopInvoker) == nil {
			t.Fatal("admitted")
		}
		if _, err := overload(ctx, nil, nil, func(context.Context, any) (any, error) { return nil, nil }); err == nil {
			t.Fatal("admitted")
		}
	}); n != 0 {
		t.Errorf("refusals: %v allocs, want 0", n)
	}
}

// FuzzPushback checks pushback against strconv: a valid pushback is a
// non-negative decimal count of milliseconds that fits a time.Duration.
func FuzzPushback(f *testing.F) {
	for _, s := range []string{"0", "1", "-1", "250", " 7", "x", "", "9223372036854", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, present, valid := pushback(metadata.MD{PushbackKey: {s}})
		if !present {
			t.Fatal("a pushback that is there is not present")
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		want := err == nil && ms >= 0 && ms <= int64(math.MaxInt64/int64(time.Millisecond))
		if valid != want {
			t.Fatalf("pushback(%q) valid = %v, want %v", s, valid, want)
		}
		if valid && d != time.Duration(ms)*time.Millisecond || !valid && d != 0 {
			t.Fatalf("pushback(%q) = %v", s, d)
		}
	})
}
