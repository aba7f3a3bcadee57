package group_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

func TestSettleEveryItemKeepsItsOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g gatherGauge
		res := group.Settle(t.Context(), gatherInts(60), func(ctx context.Context, i int) (string, error) {
			g.enter()
			defer g.exit()
			time.Sleep(time.Duration((i*7)%11) * time.Millisecond)
			switch i % 5 {
			case 1:
				return "partial", fmt.Errorf("e%d", i)
			case 2:
				panic(i)
			case 3:
				runtime.Goexit()
			}
			require.NoError(t, ctx.Err(), "failures cancel nothing")
			return fmt.Sprint(i), nil
		}, group.Limit(3))
		require.Len(t, res, 60)
		assert.Equal(t, int64(3), g.max.Load())
		for i, r := range res {
			var pe *group.PanicError
			switch i % 5 {
			case 1:
				assert.Equal(t, group.Result[string]{"partial", fmt.Errorf("e%d", i)}, r)
			case 2:
				require.ErrorAs(t, r.Err, &pe, "item %d", i)
				assert.Equal(t, i, pe.Value)
			case 3:
				require.ErrorAs(t, r.Err, &pe, "item %d", i)
				assert.True(t, pe.Goexit)
			default:
				assert.Equal(t, group.Result[string]{Value: fmt.Sprint(i)}, r)
			}
		}
	})
}

func TestSettleCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("enough")
		ctx, cancel := context.WithCancelCause(t.Context())
		var ran atomic.Int32
		res := group.Settle(ctx, gatherInts(20), func(ctx context.Context, i int) (int, error) {
			ran.Add(1)
			if i == 1 {
				cancel(cause)
			}
			time.Sleep(time.Millisecond)
			return i, nil
		}, group.Limit(1))
		assert.Equal(t, int32(2), ran.Load())
		assert.Equal(t, group.Result[int]{Value: 1}, res[1], "a started item keeps its own outcome")
		for _, r := range res[2:] {
			assert.Equal(t, group.Result[int]{Err: cause}, r)
		}
	})
}

func TestSettleEmptyAndNil(t *testing.T) {
	assert.Empty(t, group.Settle(t.Context(), []int{}, func(context.Context, int) (int, error) { return 0, nil }))
	assert.PanicsWithValue(t, "group: nil function", func() {
		group.Settle[int, int](t.Context(), nil, nil)
	})
}
