package limiter_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/limiter"
)

// TestZeroValuesPanic checks that every type that needs its constructor
// says so on first use, instead of admitting everything or failing with a
// nil pointer.
func TestZeroValuesPanic(t *testing.T) {
	ctx := context.Background()
	nop := func(context.Context) error { return nil }
	tests := []struct {
		want string
		fn   func()
	}{
		{"limiter: Rate used without NewRate", func() { new(limiter.Rate).Allow() }},
		{"limiter: Rate used without NewRate", func() { new(limiter.Rate).AllowN(3) }},
		{"limiter: Rate used without NewRate", func() { new(limiter.Rate).Decide() }},
		{"limiter: Rate used without NewRate", func() { _ = new(limiter.Rate).Wait(ctx) }},
		{"limiter: Keyed used without NewKeyed", func() { new(limiter.Keyed[int]).Allow(1) }},
		{"limiter: Semaphore used without NewSemaphore", func() { _ = new(limiter.Semaphore).Acquire(ctx, 1) }},
		{"limiter: Semaphore used without NewSemaphore", func() { new(limiter.Semaphore).TryAcquire(1) }},
		{"limiter: Semaphore used without NewSemaphore", func() { new(limiter.Semaphore).Release(1) }},
		{"limiter: Semaphore used without NewSemaphore", func() { new(limiter.Semaphore).SetLimit(4) }},
		{"limiter: Semaphore used without NewSemaphore", func() { new(limiter.Semaphore).Stats() }},
		{"limiter: Bulkhead used without NewBulkhead", func() { _ = new(limiter.Bulkhead).Do(ctx, nop) }},
		{"limiter: Bulkhead used without NewBulkhead", func() { _, _ = new(limiter.Bulkhead).Acquire(ctx) }},
		{"limiter: Bulkhead used without NewBulkhead", func() { new(limiter.Bulkhead).Stats() }},
		{"limiter: Adaptive used without NewAdaptive", func() { _, _ = new(limiter.Adaptive).Acquire(ctx) }},
		{"limiter: Adaptive used without NewAdaptive", func() { new(limiter.Adaptive).Limit() }},
		{"limiter: Adaptive used without NewAdaptive", func() { new(limiter.Adaptive).Stats() }},
	}
	for _, tt := range tests {
		assert.PanicsWithValue(t, tt.want, tt.fn)
	}
}

// TestCallMisusePanics checks the call-time rule: nil context, nil function
// and negative counts panic with a message naming them.
func TestCallMisusePanics(t *testing.T) {
	var nilCtx context.Context
	ctx := context.Background()
	r := limiter.NewRate(10, 2)
	k := limiter.NewKeyed(func(string) *limiter.Rate { return limiter.NewRate(10, 2) })
	s := limiter.NewSemaphore(2)
	b := limiter.NewBulkhead(1, 1)
	a := limiter.NewAdaptive()
	nop := func(context.Context) error { return nil }
	tests := []struct {
		want string
		fn   func()
	}{
		{"limiter: nil context", func() { _ = r.Wait(nilCtx) }},
		{"limiter: nil context", func() { _ = r.WaitN(nilCtx, 0) }},
		{"limiter: nil context", func() { _ = limiter.NewRate(limiter.Inf, 1).Wait(nilCtx) }},
		{"limiter: nil context", func() { _ = k.Wait(nilCtx, "a") }},
		{"limiter: nil context", func() { _ = s.Acquire(nilCtx, 1) }},
		{"limiter: nil context", func() { _ = b.Do(nilCtx, nop) }},
		{"limiter: nil context", func() { _, _ = b.Acquire(nilCtx) }},
		{"limiter: nil context", func() { _, _ = a.Acquire(nilCtx) }},
		{"limiter: nil function", func() { _ = b.Do(ctx, nil) }},
		{"limiter: Rate.AllowN(-1): n must be >= 0", func() { r.AllowN(-1) }},
		{"limiter: Rate.WaitN(-1): n must be >= 0", func() { _ = r.WaitN(ctx, -1) }},
		{"limiter: Rate.AllowN(-1): n must be >= 0", func() { limiter.NewRate(limiter.Inf, 1).AllowN(-1) }},
		{"limiter: Rate.WaitN(-1): n must be >= 0", func() { _ = limiter.NewRate(limiter.Inf, 1).WaitN(ctx, -1) }},
		{"limiter: Semaphore.Acquire(0): weight must be at least 1", func() { _ = s.Acquire(ctx, 0) }},
	}
	for _, tt := range tests {
		assert.PanicsWithValue(t, tt.want, tt.fn)
	}
	// Nothing above took anything.
	assert.Equal(t, limiter.SemaphoreStats{Limit: 2}, semGauges(s.Stats()))
	assert.Equal(t, limiter.BulkheadStats{}, bulkGauges(b.Stats()))
	assert.True(t, r.AllowN(2))
}

// TestAllocs guards the package's "does not allocate" claims (see the Cost
// section of the package documentation).
func TestAllocs(t *testing.T) {
	ctx := context.Background()
	r := limiter.NewRate(1e9, 1<<20)
	s := limiter.NewSemaphore(4)
	b := limiter.NewBulkhead(4, 4)
	k := limiter.NewKeyed(func(int) *limiter.Rate { return limiter.NewRate(1e9, 1<<20) })
	k.Allow(1)
	var calls int
	fn := func(context.Context) error { calls++; return nil }
	for name, f := range map[string]func(){
		"Rate.Allow":              func() { r.Allow() },
		"Rate.AllowN":             func() { r.AllowN(3) },
		"Rate.Decide":             func() { r.Decide() },
		"Rate.Wait without delay": func() { _ = r.Wait(ctx) },
		"Semaphore.Acquire+Release": func() {
			_ = s.Acquire(ctx, 2)
			s.Release(2)
		},
		"Semaphore.TryAcquire+Release": func() {
			s.TryAcquire(1)
			s.Release(1)
		},
		"Bulkhead.Do":          func() { _ = b.Do(ctx, fn) },
		"Keyed.Allow, old key": func() { k.Allow(1) },
	} {
		assert.Zero(t, testing.AllocsPerRun(200, f), name)
	}
	assert.NotZero(t, calls)
}
