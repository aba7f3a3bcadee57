package main

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/group"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// Every job accepted before SIGTERM ran to the end, exactly once, even
	// those still queued when the signal came.
	assert.Equal(t, jobs, rep.accepted)
	assert.Equal(t, int64(jobs), rep.done)
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, rep.doneOrder)
	assert.Equal(t, uint64(jobs), rep.stats.Submitted)
	assert.Equal(t, uint64(jobs), rep.stats.Completed)
	assert.Zero(t, rep.stats.Dropped)
	assert.Zero(t, rep.stats.Workers, "no worker outlives Shutdown")

	// Once shut down, nothing new is accepted.
	assert.ErrorIs(t, rep.refused, group.ErrClosed)
	assert.True(t, errors.Is(rep.lateHTTP, syscall.ECONNREFUSED), "late request: %v", rep.lateHTTP)
	assert.Less(t, rep.shutdown, shutdownBudget)

	assert.Contains(t, out.String(), "received SIGTERM")
	assert.NotContains(t, out.String(), "signal received")
	assert.Contains(t, out.String(), "0 lost; exiting 0")
}
