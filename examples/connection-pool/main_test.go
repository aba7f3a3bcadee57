package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// Every request succeeded, some after a retry on a fresh connection.
	assert.Equal(t, int64(requests), rep.ok)
	assert.Zero(t, rep.failed)
	assert.Positive(t, rep.hungUp, "the server hung up on some requests")
	assert.Equal(t, rep.hungUp, rep.retries, "each hang-up cost one retry")
	assert.Equal(t, rep.hungUp, rep.stats.DestroyedBroken, "and destroyed its connection")

	// The connections dropped while idle were found by the health check.
	assert.Equal(t, killIdle, rep.killed)
	assert.Equal(t, int64(killIdle), rep.stats.DestroyedUnhealthy)

	// Never more than MaxSize connections; every one closed exactly once.
	assert.LessOrEqual(t, rep.peakConns, int64(maxConns))
	assert.Equal(t, rep.stats.Created, rep.stats.Destroyed)
	assert.Equal(t, rep.stats.Created, rep.destroyCalls)
	assert.Zero(t, rep.stats.Total)
	assert.Zero(t, rep.openAtEnd)

	// Close with a deadline reported the connection still in use.
	require.ErrorIs(t, rep.closeErr, context.DeadlineExceeded)
	// (A create still in flight, its dial cut short by Close, may be
	// counted as out too on a busy machine.)
	assert.Contains(t, rep.closeErr.Error(), "resources still out (1 in use")
	assert.NoError(t, rep.finalClose)
	assert.Contains(t, out.String(), "burst 2: 200 ok in all, 0 failed")
}
