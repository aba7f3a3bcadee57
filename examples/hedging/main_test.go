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

	// Ten first attempts stall for the whole stall time, so without hedging
	// the p99 is at least that; each of them makes the hedged run send a
	// second request, which never stalls, so hedging cuts the p99 below it.
	assert.GreaterOrEqual(t, rep.plain.p99, stall)
	assert.Less(t, rep.hedged.p99, stall)
	assert.GreaterOrEqual(t, rep.hedges, int64(items/10))
	assert.Less(t, rep.plain.p50, stall)
	assert.Contains(t, out.String(), "plain:  p50")
	assert.Contains(t, out.String(), "hedged: p50")
}
