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
	// A generous per-request deadline, so that only the hanging items time
	// out however loaded the machine is.
	rep, err := run(ctx, &out, time.Second)
	require.NoError(t, err, out.String())

	// Items 4, 9, 14, 19 fail; 6 and 13 hang; the other 14 succeed.
	assert.Equal(t, 14, rep.ok, out.String())
	assert.Equal(t, 4, rep.failed, out.String())
	assert.Equal(t, 2, rep.timedOut, out.String())
	assert.Equal(t, 14, rep.fetched)
	assert.LessOrEqual(t, rep.maxInFlight, int64(4), "Limit(4) was exceeded")
	assert.Positive(t, rep.maxInFlight)

	// Map's first failure is one of the failing items, named by its index.
	require.Error(t, rep.firstErr)
	assert.True(t, errors.Is(rep.firstErr, errStatus) || errors.Is(rep.firstErr, timeout.ErrTimeout), rep.firstErr)
	assert.Contains(t, rep.firstErr.Error(), "group: item ")
	assert.Contains(t, out.String(), `   0 ok        "item 0"`)
	assert.Contains(t, out.String(), "  14 ok, 4 failed, 2 timed out")
}
