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

	// The Executor accepted exactly its workers and queue, and shed the rest.
	assert.Equal(t, workers+queueLen, rep.accepted)
	assert.Equal(t, burst-workers-queueLen, rep.shed)
	assert.Contains(t, out.String(), "12 accepted (202), 38 shed at once (429)")

	// Every accepted job ran once; every checksum request was served.
	assert.Equal(t, int64(rep.accepted), rep.ran)
	assert.Equal(t, checksums, rep.checksums)
	assert.Equal(t, uint64(rep.shed), rep.stats.Rejected)
	assert.Equal(t, uint64(rep.accepted+checksums), rep.stats.Submitted)
	assert.Equal(t, rep.stats.Submitted, rep.stats.Completed)
	assert.Zero(t, rep.stats.Workers)
	assert.Contains(t, out.String(), "none lost")
}
