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

	// Every job went through, in order (run checks the order), and the
	// producer was held back to MapSeq's bound of 2×Limit.
	assert.Equal(t, int64(jobs), rep.produced)
	assert.Equal(t, int64(jobs), rep.consumed)
	assert.LessOrEqual(t, rep.maxAhead, int64(2*workers))
	assert.Positive(t, rep.maxAhead)

	// The bulkhead admitted exactly its slots and queue, and shed the rest.
	assert.Equal(t, running+queueLen, rep.served)
	assert.Equal(t, burst-running-queueLen, rep.shed)
	assert.Equal(t, int64(rep.shed), rep.stats.Rejected)
	assert.Equal(t, int64(rep.served), rep.stats.Completed)
	assert.Zero(t, rep.stats.Running)
	assert.Zero(t, rep.stats.Queued)
	assert.Contains(t, out.String(), "12 served, 38 shed")
}
