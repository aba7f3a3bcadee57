package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/retry"
)

func TestPolicyStats(t *testing.T) {
	ctx := context.Background()
	p := retry.New(retry.Attempts(3), retry.Constant(0))
	fail := func(context.Context) error { return errors.New("failed") }

	assert.NoError(t, p.Do(ctx, func(context.Context) error { return nil })) // not counted
	assert.ErrorIs(t, p.Do(ctx, fail), retry.ErrExhausted)                   // 2 retries
	n := 0
	assert.NoError(t, p.Do(ctx, func(context.Context) error { // 1 retry, recovered
		if n++; n < 2 {
			return errors.New("once")
		}
		return nil
	}))
	assert.Error(t, p.Do(ctx, func(context.Context) error { return retry.Permanent(errors.New("no")) }))
	assert.Equal(t, retry.Stats{Retries: 3, Recovered: 1, Exhausted: 1}, p.Stats())

	b := retry.NewBudget(0.1, 0)
	pb := retry.New(retry.Attempts(3), retry.Constant(0), retry.WithBudget(b))
	assert.ErrorIs(t, pb.Do(ctx, fail), retry.ErrBudgetExhausted)
	assert.Equal(t, retry.Stats{Denied: 1}, pb.Stats())
	assert.Equal(t, retry.BudgetStats{Denied: 1}, b.Stats())

	fb := retry.NewBudget(0.1, 1) // a floor of one retry a second
	pf := retry.New(retry.Attempts(2), retry.Constant(0), retry.WithBudget(fb))
	assert.ErrorIs(t, pf.Do(ctx, fail), retry.ErrExhausted) // the floor pays its retry
	assert.Equal(t, retry.BudgetStats{Floor: 1}, fb.Stats())

	assert.Equal(t, retry.Stats{}, (&retry.Policy{}).Stats())
}
