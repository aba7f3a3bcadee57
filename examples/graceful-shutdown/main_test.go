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
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// Every request in flight at SIGTERM finished with 200 (get fails on any
	// other status), each exactly once.
	require.Len(t, rep.responses, clients)
	assert.ElementsMatch(t, []string{"request 1 done", "request 2 done", "request 3 done"}, rep.responses)
	// A request sent once the listener was closed was refused, not queued.
	assert.True(t, errors.Is(rep.refused, syscall.ECONNREFUSED), "late request: %v", rep.refused)
	// The workers finished the jobs the drained requests queued.
	assert.Equal(t, int64(clients), rep.processed)
	// The drain waited for the work in flight and stayed within its deadline.
	assert.Positive(t, rep.drain)
	assert.Less(t, rep.drain, shutdownBudget-keepBack)
	assert.Contains(t, out.String(), "exiting 0")
}
