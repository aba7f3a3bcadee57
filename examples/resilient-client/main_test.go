package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/timeout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// The rate limiter spaced the five requests beyond the burst 10ms apart.
	assert.GreaterOrEqual(t, rep.steady, 45*time.Millisecond)

	// The 429's Retry-After: 1 replaced the millisecond backoff.
	assert.GreaterOrEqual(t, rep.retryAfter, time.Second)
	var sawRetryAfter, sawTimeout bool
	for _, e := range rep.retries {
		sawRetryAfter = sawRetryAfter || (e.After && e.Delay == time.Second)
		sawTimeout = sawTimeout || errors.Is(e.Err, timeout.ErrTimeout)
	}
	assert.True(t, sawRetryAfter, "no retry waited the 1s the server asked for")
	assert.True(t, sawTimeout, "no retry after a per-try timeout")

	// Two calls failed after their retries and opened the breaker; the next
	// two were rejected without reaching the server; after the open time a
	// probe succeeded and closed it again.
	assert.Equal(t, []string{"500 Internal Server Error", "500 Internal Server Error", "rejected", "rejected"}, rep.outageResults)
	assert.Zero(t, rep.hitsWhileOpen)
	assert.Equal(t, []string{"closed -> open", "open -> half-open", "half-open -> closed"}, rep.transitions)
	assert.True(t, rep.recovered)
	assert.Contains(t, out.String(), "probe: 200 OK; breaker closed")
}
