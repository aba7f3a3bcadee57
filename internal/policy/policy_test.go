package policy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/policy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	errA = errors.New("a")
	errB = errors.New("b")
)

func newPolicy(t *testing.T, opts policy.Options, n int) (*policy.Policy, context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	t.Cleanup(func() { cancel(nil) })
	p := new(policy.Policy)
	p.Init(ctx, cancel, opts, n)
	return p, ctx, cancel
}

func TestFirstErrorCancels(t *testing.T) {
	p, ctx, _ := newPolicy(t, policy.Options{}, 0)
	assert.False(t, p.Fail(errA, policy.Item(3)), "the worker stops")
	assert.EqualError(t, context.Cause(ctx), "group: item 3: a", "cancelled with the named error")
	p.Fail(errB, policy.Name{})
	p.Fail(context.Canceled, policy.Name{}) // an echo of the failure: not reported
	p.Cause()
	err := p.Err(nil)
	assert.EqualError(t, err, "group: item 3: a")
	assert.ErrorIs(t, err, errA)
}

func TestKeepGoingJoins(t *testing.T) {
	p, ctx, cancel := newPolicy(t, policy.Options{KeepGoing: true}, 0)
	assert.True(t, p.Fail(errA, policy.Task("fetch")))
	assert.NoError(t, ctx.Err(), "errors cancel nothing")
	cancel(errB)
	p.Fail(fmt.Errorf("wrapped: %w", context.Canceled), policy.Name{})
	p.Fail(context.DeadlineExceeded, policy.Name{})
	p.Cause()
	assert.EqualError(t, p.Err(nil), "group: task \"fetch\": a\nb", "the cause once")
	assert.EqualError(t, p.Err(errors.New("replaced")), "group: task \"fetch\": a\nreplaced")
}

func TestPanic(t *testing.T) {
	pe := errors.New("a panic")
	p, ctx, _ := newPolicy(t, policy.Options{KeepGoing: true}, 0)
	assert.Nil(t, p.Panicked())
	assert.False(t, p.Panic(pe, policy.Item(1)))
	p.Panic(errors.New("second"), policy.Name{})
	assert.Same(t, pe, p.Panicked(), "the first is kept")
	assert.Same(t, pe, context.Cause(ctx), "a panic cancels even with KeepGoing")

	p, _, _ = newPolicy(t, policy.Options{PanicAsError: true}, 0)
	p.Panic(pe, policy.Item(1))
	assert.Nil(t, p.Panicked())
	assert.EqualError(t, p.Err(nil), "group: item 1: a panic")
}

func TestIndexed(t *testing.T) {
	p, _, cancel := newPolicy(t, policy.Options{Indexed: true}, 3)
	p.FailAt(2, errB, policy.Function(2))
	cancel(errA)
	p.FailAt(0, context.Canceled, policy.Function(0))
	p.FailAt(1, errA, policy.Function(1)) // the cause itself: an echo too
	p.Cause()
	assert.EqualError(t, p.Err(nil), "a\ngroup: function 2: b", "by index, the cause once at the first echo")
	assert.Len(t, p.Errs(), 2)
}

func TestNotStartedReplacesCause(t *testing.T) {
	p, _, cancel := newPolicy(t, policy.Options{}, 0)
	cancel(errA)
	p.Cause()
	replaced := errors.New("3 not started")
	assert.Same(t, replaced, p.Err(replaced))

	p, _, _ = newPolicy(t, policy.Options{}, 0)
	p.Fail(errB, policy.Name{})
	err := p.Err(replaced)
	require.ErrorIs(t, err, errB)
	assert.ErrorIs(t, err, replaced, "added after a failure")
}

func TestEcho(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	assert.False(t, policy.Echo(ctx, context.Canceled), "not done: a real error")
	cancel(errA)
	assert.True(t, policy.Echo(ctx, context.Canceled))
	assert.True(t, policy.Echo(ctx, fmt.Errorf("w: %w", errA)))
	assert.False(t, policy.Echo(ctx, errB))
}

// TestIndexedCauseFirst checks an Indexed policy whose cause is reported
// before any index fails: the indexes still come first.
func TestIndexedCauseFirst(t *testing.T) {
	p, _, cancel := newPolicy(t, policy.Options{Indexed: true}, 2)
	cancel(errA)
	p.Cause()
	p.FailAt(1, errB, policy.Function(1))
	assert.EqualError(t, p.Err(nil), "group: function 1: b\na")
	assert.Zero(t, testing.AllocsPerRun(10, func() {
		var q policy.Policy
		q.Init(context.Background(), func(error) {}, policy.Options{Indexed: true}, 4)
	}), "an Indexed policy allocates nothing until a task fails")
}
