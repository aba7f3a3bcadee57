package main

import (
	"context"
	"regexp"
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
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing line %s in:\n%s", want, got)
		}
	}
	// How many tries the open breaker rejected depends on when the retry
	// policy gives up (the rejection says when a probe will be let
	// through), so only check that it rejected some.
	if !regexp.MustCompile(`(?m)^weft_retry_retries_total\{weft_name="api-client"\} [1-9]`).MatchString(got) {
		t.Errorf("no retries counted in:\n%s", got)
	}
	if !regexp.MustCompile(`(?m)^weft_breaker_calls_total\{weft_name="api-client",weft_outcome="rejected"\} [1-9]`).MatchString(got) {
		t.Errorf("no rejection by the open breaker in:\n%s", got)
	}
}
