package weftgrpc_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/limiter"
	"github.com/weftgo/weft/weftgrpc"
	"google.golang.org/grpc/codes"
)

func TestMisusePanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"UnaryClientRetry nil", func() { weftgrpc.UnaryClientRetry(nil) }, "weftgrpc: UnaryClientRetry(nil)"},
		{"StreamClientRetry nil", func() { weftgrpc.StreamClientRetry(nil) }, "weftgrpc: StreamClientRetry(nil)"},
		{"RetryCodes OK", func() { weftgrpc.RetryCodes(codes.OK) }, "weftgrpc: RetryCodes(OK)"},
		{"RetryCodes 99", func() { weftgrpc.RetryCodes(99) }, "weftgrpc: RetryCodes(Code(99))"},
		{"AttemptTimeout 0", func() { weftgrpc.AttemptTimeout(0) }, "weftgrpc: AttemptTimeout(0s)"},
		{"Idempotent nil", func() { weftgrpc.Idempotent(nil) }, "weftgrpc: Idempotent(nil)"},
		{"IdempotentMethods bad", func() { weftgrpc.IdempotentMethods("Svc/M") }, `weftgrpc: IdempotentMethods("Svc/M")`},
		{"UnaryClientBreaker nil", func() { weftgrpc.UnaryClientBreaker(nil) }, "weftgrpc: UnaryClientBreaker(nil)"},
		{"StreamClientBreaker nil", func() { weftgrpc.StreamClientBreaker(nil) }, "weftgrpc: StreamClientBreaker(nil)"},
		{"FailureCodes Canceled", func() { weftgrpc.FailureCodes(codes.Canceled) }, "weftgrpc: FailureCodes(Canceled)"},
		{"UnaryClientTimeout 0", func() { weftgrpc.UnaryClientTimeout(0) }, "weftgrpc: UnaryClientTimeout(0s)"},
		{"StreamClientTimeout -1", func() { weftgrpc.StreamClientTimeout(-time.Second) }, "weftgrpc: StreamClientTimeout(-1s)"},
		{"UnaryClientRate nil", func() { weftgrpc.UnaryClientRate(nil) }, "weftgrpc: UnaryClientRate(nil)"},
		{"StreamClientRate nil", func() { weftgrpc.StreamClientRate(nil) }, "weftgrpc: StreamClientRate(nil)"},
		{"UnaryServerRate nil", func() { weftgrpc.UnaryServerRate[string](nil, weftgrpc.MetadataKey("k")) }, "weftgrpc: UnaryServerRate: nil Keyed"},
		{"StreamServerRate nil key", func() {
			weftgrpc.StreamServerRate[string](limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(1, 1) }), nil)
		}, "weftgrpc: StreamServerRate: nil key function"},
		{"MetadataKey empty", func() { weftgrpc.MetadataKey("") }, `weftgrpc: MetadataKey("")`},
		{"UnaryServerConcurrency nil", func() { weftgrpc.UnaryServerConcurrency(nil) }, "weftgrpc: UnaryServerConcurrency(nil)"},
		{"StreamServerConcurrency nil", func() { weftgrpc.StreamServerConcurrency(nil) }, "weftgrpc: StreamServerConcurrency(nil)"},
		{"UnaryServerOverload nil", func() { weftgrpc.UnaryServerOverload(nil) }, "weftgrpc: UnaryServerOverload(nil)"},
		{"StreamServerOverload nil", func() { weftgrpc.StreamServerOverload(nil) }, "weftgrpc: StreamServerOverload(nil)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, tc.want) {
					t.Fatalf("panic %v, want one starting with %q", r, tc.want)
				}
			}()
			tc.fn()
		})
	}
}
