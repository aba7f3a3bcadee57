package group_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/group"
)

// The package documentation states what each API allocates (# Cost); these
// tests guard those claims. Allocation counts are deterministic where times
// are not, so a regression fails the tests. Goroutines that the runtime
// cannot take from its free list allocate too, which the small deltas allow
// for.

func allocNop(context.Context) error { return nil }

// TestAllocsGroupPerTask checks that Go allocates one object per task
// without a limit (the goroutine's closure) and none with a limit.
func TestAllocsGroupPerTask(t *testing.T) {
	allocs := func(n int, opts ...group.Option) float64 {
		return testing.AllocsPerRun(50, func() {
			g := group.New(context.Background(), opts...)
			for range n {
				g.Go(allocNop)
			}
			_ = g.Wait()
		})
	}
	perTask := (allocs(210) - allocs(10)) / 200
	assert.InDelta(t, 1, perTask, 0.1, "no limit: one allocation per task, got %.2f", perTask)
	perTask = (allocs(210, group.Limit(2)) - allocs(10, group.Limit(2))) / 200
	assert.InDelta(t, 0, perTask, 0.1, "with a limit: no allocation per task, got %.2f", perTask)
}

// TestAllocsGatherFixed checks that Map, ForEach and Settle allocate a fixed
// amount per call, whatever the number of items (their result slice is one
// allocation of any size).
func TestAllocsGatherFixed(t *testing.T) {
	square := func(_ context.Context, x int) (int, error) { return x * x, nil }
	each := func(context.Context, int) error { return nil }
	for _, tc := range []struct {
		name string
		call func(items []int)
	}{
		{"Map", func(items []int) { _, _ = group.Map(context.Background(), items, square, group.Limit(2)) }},
		{"ForEach", func(items []int) { _ = group.ForEach(context.Background(), items, each, group.Limit(2)) }},
		{"Settle", func(items []int) { _ = group.Settle(context.Background(), items, square, group.Limit(2)) }},
		{"MapSeq", func(items []int) {
			for range group.MapSeq(context.Background(), slices.Values(items), square, group.Limit(2)) {
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			few, many := make([]int, 10), make([]int, 10_000)
			a := testing.AllocsPerRun(20, func() { tc.call(few) })
			b := testing.AllocsPerRun(20, func() { tc.call(many) })
			assert.InDelta(t, a, b, 2, "%s: %v allocations for 10 items, %v for 10000", tc.name, a, b)
		})
	}
}
