package main

import (
	"context"
	"errors"
	"slices"
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
	passes, err := run(ctx, &out)
	require.NoError(t, err, out.String())

	// Clean records: every record went through every stage, in order.
	clean := passes[0]
	require.NoError(t, clean.err)
	assert.Equal(t, records, clean.read)
	assert.Equal(t, records, clean.transformed)
	want := make([]int, records)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, clean.written)

	// Record 57 malformed: the error names it, nothing from it on was
	// transformed, and only whole batches of the records before it were
	// written, in order.
	bad := passes[1]
	require.ErrorIs(t, bad.err, errMalformed)
	assert.Contains(t, bad.err.Error(), `group: item 57: malformed record: "garbage"`)
	assert.False(t, errors.Is(bad.err, context.Canceled), bad.err)
	assert.LessOrEqual(t, bad.transformed, 57)
	assert.LessOrEqual(t, len(bad.written), 50)
	assert.Zero(t, len(bad.written)%batch, bad.written)
	assert.True(t, slices.Equal(want[:len(bad.written)], bad.written), bad.written)
}
