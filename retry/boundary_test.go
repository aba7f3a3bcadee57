package retry_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/retry"
)

// TestDelayEndingAtDeadline pins Do's rule at the context's deadline: a
// delay that ends exactly at the deadline is not waited, since the try
// after it would start with ctx already done.
func TestDelayEndingAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		p := retry.New(retry.Attempts(10), retry.Constant(time.Second))
		start, calls := time.Now(), 0
		err := p.Do(ctx, failing(100, &calls))
		// Tries at 0s, 1s and 2s; the delay after the third would end at
		// 3s, the deadline itself.
		assert.Equal(t, 3, calls)
		assert.Equal(t, 2*time.Second, time.Since(start))
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.NoError(t, ctx.Err())
	})
}

// TestDelayEndingAtMaxElapsed pins Do's rule at MaxElapsed: a delay that
// ends exactly MaxElapsed after Do was called is waited, and the try made.
func TestDelayEndingAtMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Attempts(10), retry.Constant(time.Second), retry.MaxElapsed(3*time.Second))
		start, calls := time.Now(), 0
		err := p.Do(t.Context(), failing(100, &calls))
		// Tries at 0s, 1s, 2s and 3s (= MaxElapsed); a fifth would start
		// at 4s.
		assert.Equal(t, 4, calls)
		assert.Equal(t, 3*time.Second, time.Since(start))
		require.ErrorIs(t, err, retry.ErrExhausted)
	})
}

// pushback is an error with a RetryAfter method, as a breaker's or a
// limiter's refusal has.
type pushback time.Duration

func (p pushback) Error() string             { return fmt.Sprintf("busy for %v", time.Duration(p)) }
func (p pushback) RetryAfter() time.Duration { return time.Duration(p) }

// wrappingPushback asks for a delay and wraps another error.
type wrappingPushback struct {
	pushback
	err error
}

func (w wrappingPushback) Unwrap() error { return w.err }

// TestRetryAfterMethod checks that an error with a RetryAfter method asks
// for its delay as After does, wrapped or not, capped by CapAfter, and that
// a delay of zero or less asks for nothing.
func TestRetryAfterMethod(t *testing.T) {
	s := time.Second
	tests := []struct {
		name    string
		opts    []retry.Option
		err     error
		elapsed time.Duration
		after   bool
	}{
		{"honoured", nil, pushback(5 * s), 5 * s, true},
		{"wrapped", nil, fmt.Errorf("call: %w", pushback(5*s)), 5 * s, true},
		{"capped", []retry.Option{retry.CapAfter()}, pushback(5 * s), s, true},
		{"zero asks nothing", nil, pushback(0), s, false},
		{"negative asks nothing", nil, pushback(-s), s, false},
		{"After wins when outer", nil, retry.After(2*s, pushback(5*s)), 2 * s, true},
		{"permanent inside stops", nil, fmt.Errorf("%w: %w", pushback(5*s), retry.Permanent(errFatal)), 0, false},
		{"permanent under a delayer stops", nil, wrappingPushback{pushback(5 * s), retry.Permanent(errFatal)}, 0, false},
		{"delayer under a delayer: the outer asks", nil, wrappingPushback{pushback(2 * s), pushback(5 * s)}, 2 * s, true},
		{"delayer under a zero delayer asks", nil, wrappingPushback{pushback(0), pushback(5 * s)}, 5 * s, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var events []retry.Event
				p := retry.New(append([]retry.Option{retry.Constant(s), retry.OnRetry(func(e retry.Event) { events = append(events, e) })}, tt.opts...)...)
				start, tries := time.Now(), 0
				err := p.Do(t.Context(), func(context.Context) error {
					if tries++; tries > 1 {
						return nil
					}
					return tt.err
				})
				assert.Equal(t, tt.elapsed, time.Since(start))
				if tt.elapsed == 0 {
					require.ErrorIs(t, err, errFatal)
					assert.Empty(t, events)
					return
				}
				require.NoError(t, err)
				require.Len(t, events, 1)
				assert.Equal(t, tt.after, events[0].After)
				assert.Equal(t, tt.elapsed, events[0].Delay)
			})
		})
	}
}

// TestRetryAfterPastDeadline checks that a RetryAfter delay the deadline
// cannot wait for ends Do at once, as an After delay does: a retry that
// meets an open breaker does not hammer it.
func TestRetryAfterPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		tries := 0
		err := retry.New(retry.Attempts(10), retry.Constant(0)).Do(ctx, func(context.Context) error {
			tries++
			return pushback(time.Minute)
		})
		assert.Equal(t, 1, tries)
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.EqualError(t, err, "retry: 1 attempt failed, last: busy for 1m0s")
	})
}

func TestErrorMessageAttempts(t *testing.T) {
	calls := 0
	err := retry.New(retry.Attempts(2), retry.Constant(0)).Do(context.Background(), failing(100, &calls))
	assert.EqualError(t, err, "retry: 2 attempts failed, last: boom")
}
