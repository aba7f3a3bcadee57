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
	if testing.Short() {
		t.Skip("overloads the CPUs for a few seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, &out)
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())

	un, pr := rep.unprotected, rep.protected
	// Every offered request was accounted for.
	assert.Equal(t, un.offered, un.served+un.rejected+un.failed)
	assert.Equal(t, pr.offered, pr.served+pr.rejected+pr.failed)
	// Unprotected, nothing is refused; protected, the excess is.
	assert.Zero(t, un.rejected)
	assert.Positive(t, pr.served)
	assert.Positive(t, pr.rejected)
	// The served requests' latency: the queue's without shedding, far less
	// with it.
	assert.Less(t, 2*pr.p99, un.p99, "p99 with shedding %v, without %v", pr.p99, un.p99)
	assert.Contains(t, out.String(), "with shedding:")
}
