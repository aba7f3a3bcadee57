package panics_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/panics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// catchIn runs fn through Catch on a fresh goroutine, reading the outcome
// from a deferred call the way weft's packages do.
func catchIn(fn func() error) error {
	var (
		wg  sync.WaitGroup
		got error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		defer func() { got = err }()
		panics.Catch(&err, fn)
	}()
	wg.Wait()
	return got
}

func panickingTaskFrame() error { panic("boom") }

func TestCatch(t *testing.T) {
	errSentinel := errors.New("sentinel")
	tests := []struct {
		name  string
		fn    func() error
		check func(t *testing.T, err error)
	}{
		{"nil", func() error { return nil }, func(t *testing.T, err error) { assert.NoError(t, err) }},
		{"error passes through", func() error { return errSentinel }, func(t *testing.T, err error) {
			assert.Same(t, errSentinel, err)
		}},
		{"panic with string", panickingTaskFrame, func(t *testing.T, err error) {
			var r *panics.Recovered
			require.ErrorAs(t, err, &r)
			assert.Equal(t, "boom", r.Value)
			assert.False(t, r.Goexit)
			assert.Contains(t, string(r.Stack), "panickingTaskFrame")
			assert.Contains(t, err.Error(), "panic: boom")
			assert.Contains(t, err.Error(), "panickingTaskFrame")
			assert.Nil(t, r.Unwrap())
		}},
		{"panic with error", func() error { panic(fmt.Errorf("wrapped: %w", io.EOF)) }, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, io.EOF)
		}},
		{"panic nil", func() error { panic(nil) }, func(t *testing.T, err error) {
			var r *panics.Recovered
			require.ErrorAs(t, err, &r)
			assert.False(t, r.Goexit)
			var pn *runtime.PanicNilError
			assert.ErrorAs(t, err, &pn)
		}},
		{"goexit", func() error { runtime.Goexit(); return nil }, func(t *testing.T, err error) {
			var r *panics.Recovered
			require.ErrorAs(t, err, &r)
			assert.True(t, r.Goexit)
			assert.Nil(t, r.Value)
			assert.Contains(t, err.Error(), "Goexit")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, catchIn(tt.fn)) })
	}
}

func TestRepanicKeepsOriginalStack(t *testing.T) {
	err := catchIn(panickingTaskFrame)
	var r *panics.Recovered
	require.ErrorAs(t, err, &r)

	defer func() {
		v := recover()
		got, ok := v.(*panics.Recovered)
		require.True(t, ok, "recovered %T", v)
		assert.Same(t, r, got)
		// The runtime prints an error panic value with its Error method:
		// the message must name the task's frame, not just Repanic's.
		assert.True(t, strings.Contains(got.Error(), "panickingTaskFrame"))
	}()
	r.Repanic()
}
