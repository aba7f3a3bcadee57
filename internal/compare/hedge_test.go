package compare

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"

	"github.com/weftgo/weft/timeout"
)

// answer is the call every implementation of the Hedge scenarios makes.
func answer(ctx context.Context) (int, error) { return 42, ctx.Err() }

// BenchmarkHedgeFast measures the overhead of hedging a call that answers
// before the hedge delay, so that no hedge is ever started.
func BenchmarkHedgeFast(b *testing.B) {
	ctx := context.Background()
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := timeout.Hedge(ctx, time.Second, answer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := answer(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		b.ReportAllocs()
		exec := failsafe.With(hedgepolicy.NewWithDelay[int](time.Second)).WithContext(ctx)
		for b.Loop() {
			if _, err := exec.GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return answer(e.Context()) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestHedgeAgree checks that every implementation returns the fast answer,
// and the hedge's answer when the first attempt never answers.
func TestHedgeAgree(t *testing.T) {
	ctx := context.Background()
	const delay = time.Millisecond

	if v, err := timeout.Hedge(ctx, time.Second, answer); v != 42 || err != nil {
		t.Errorf("weft: fast: %v, %v", v, err)
	}
	if v, err := answer(ctx); v != 42 || err != nil {
		t.Errorf("floor: fast: %v, %v", v, err)
	}
	exec := failsafe.With(hedgepolicy.NewWithDelay[int](time.Second)).WithContext(ctx)
	if v, err := exec.GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return answer(e.Context()) }); v != 42 || err != nil {
		t.Errorf("failsafe: fast: %v, %v", v, err)
	}

	// The first attempt answers only when cancelled; the hedge answers 7.
	var calls atomic.Int32
	v, err := timeout.Hedge(ctx, delay, func(ctx context.Context) (int, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 7, nil
	})
	if v != 7 || err != nil {
		t.Errorf("weft: slow first: %v, %v", v, err)
	}
	exec = failsafe.With(hedgepolicy.NewWithDelay[int](delay)).WithContext(ctx)
	v, err = exec.GetWithExecution(func(e failsafe.Execution[int]) (int, error) {
		if !e.IsHedge() {
			<-e.Context().Done()
			return 0, e.Context().Err()
		}
		return 7, nil
	})
	if v != 7 || err != nil {
		t.Errorf("failsafe: slow first: %v, %v", v, err)
	}
}
