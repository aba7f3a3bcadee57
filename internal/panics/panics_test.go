package panics_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
// from a deferred call the way weft's packages do: the error fn returned, or
// the *Recovered that Catch caught.
func catchIn(fn func() error) error {
	var (
		wg  sync.WaitGroup
		got error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var r *panics.Recovered
		var err error
		defer func() {
			got = err
			if r != nil {
				got = r
			}
		}()
		err = panics.Catch(&r, fn)
	}()
	wg.Wait()
	return got
}

// TestCatchReportsWhatItCaught checks that Catch says whether it caught a
// panic through *r alone: a *Recovered that fn returns is an error, not a
// panic.
func TestCatchReportsWhatItCaught(t *testing.T) {
	returned := &panics.Recovered{Value: "returned, not panicked"}
	var r *panics.Recovered
	err := panics.Catch(&r, func() error { return returned })
	assert.Nil(t, r)
	assert.Same(t, returned, err)

	err = panics.Catch(&r, func() error { panic("boom") })
	require.NotNil(t, r)
	assert.NoError(t, err)
	assert.Equal(t, "boom", r.Value)
}

func TestMessage(t *testing.T) {
	assert.Equal(t, "v [recovered]\n\nstack", panics.Message("v", []byte("stack"), false))
	assert.Contains(t, panics.Message(nil, []byte("stack"), true), "runtime.Goexit called")
}

func panickingTaskFrame() error { panic("boom") }

func goexitingTaskFrame() error { runtime.Goexit(); return nil }

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
			// The runtime prints "panic: " before a re-raised value's
			// message, so the message must not start with it too.
			assert.True(t, strings.HasPrefix(err.Error(), "boom [recovered]\n\ngoroutine "), "message %q", err.Error())
			assert.Contains(t, err.Error(), "panickingTaskFrame")
			assert.True(t, strings.HasPrefix(strings.SplitN(string(r.Stack), "\n", 3)[1], "panic("),
				"the stack starts at the panic, without the recovery's own frames:\n%s", r.Stack)
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
		{"goexit", goexitingTaskFrame, func(t *testing.T, err error) {
			var r *panics.Recovered
			require.ErrorAs(t, err, &r)
			assert.True(t, r.Goexit)
			assert.Nil(t, r.Value)
			assert.Contains(t, err.Error(), "Goexit")
			assert.Contains(t, err.Error(), "goexitingTaskFrame")
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

// TestRepanicCrashOutput checks what a program that does not recover prints:
// the runtime's "panic: " once, the value, and the frames of the goroutine
// where the panic first happened.
func TestRepanicCrashOutput(t *testing.T) {
	if os.Getenv("PANICS_CRASH") == "1" {
		r := catchIn(panickingTaskFrame).(*panics.Recovered)
		r.Repanic()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRepanicCrashOutput$")
	cmd.Env = append(os.Environ(), "PANICS_CRASH=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child crashes")
	assert.Contains(t, string(out), "panic: boom [recovered]\n")
	assert.NotContains(t, string(out), "panic: panic:")
	assert.Contains(t, string(out), "panickingTaskFrame")
}
