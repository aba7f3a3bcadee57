package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/retry"
)

func TestBudgetZeroPanics(t *testing.T) {
	p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(&retry.Budget{}))
	assert.PanicsWithValue(t, "retry: Budget used without NewBudget", func() {
		_ = p.Do(context.Background(), func(context.Context) error { return errors.New("boom") })
	})
}

// TestBudgetFloorUneven checks the floor's GCRA with an interval that does
// not divide a second: 7 retries at once, then one every 1s/7.
func TestBudgetFloorUneven(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := retry.NewBudget(0.001, 7)
		p := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(b))
		retried := func() bool {
			calls := 0
			_ = p.Do(t.Context(), func(context.Context) error { calls++; return errors.New("boom") })
			return calls == 2
		}
		for i := range 7 {
			assert.True(t, retried(), "retry %d of the burst", i)
		}
		assert.False(t, retried())
		time.Sleep(time.Second / 7)
		assert.False(t, retried(), "1s/7 rounds up to the next nanosecond")
		time.Sleep(time.Nanosecond)
		assert.True(t, retried())
		assert.False(t, retried())
		time.Sleep(time.Minute)
		n := 0
		for retried() {
			n++
		}
		assert.Equal(t, 7, n, "the burst does not grow while idle")
	})
}
