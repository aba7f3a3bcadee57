package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the program and checks the series it printed.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`weft_bulkhead_calls_total{weft_name="api",weft_outcome="rejected"} 3`,
		`weft_bulkhead_calls_total{weft_name="api",weft_outcome="completed"} 5`,
		`weft_bulkhead_running{weft_name="api"} 0`,
		`weft_breaker_state{weft_name="api-client",weft_state="open"} 1`,
		`weft_breaker_calls_total{weft_name="api-client",weft_outcome="rejected"} 3`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing line %s in:\n%s", want, got)
		}
	}
}
