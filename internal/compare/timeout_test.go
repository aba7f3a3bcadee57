package compare

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	fstimeout "github.com/failsafe-go/failsafe-go/timeout"

	"github.com/weftgo/weft/timeout"
)

// work is the call every implementation of the Timeout scenarios makes: it
// looks at its context, as real work would, and succeeds.
func work(ctx context.Context) error { return ctx.Err() }

// BenchmarkTimeoutDo measures the overhead of running a fast call under a
// one-second timeout, which never fires.
func BenchmarkTimeoutDo(b *testing.B) {
	ctx := context.Background()
	b.Run("weft", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := timeout.Do(ctx, time.Second, work); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tctx, cancel := context.WithTimeout(ctx, time.Second)
			err := work(tctx)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failsafe", func(b *testing.B) {
		b.ReportAllocs()
		exec := failsafe.With(fstimeout.New[any](time.Second)).WithContext(ctx)
		for b.Loop() {
			if err := exec.RunWithExecution(func(e failsafe.Execution[any]) error { return work(e.Context()) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestTimeoutDoAgree checks that every implementation of the Do scenario
// lets a fast call succeed and stops a call that outlives its time limit.
func TestTimeoutDoAgree(t *testing.T) {
	ctx := context.Background()
	const limit = time.Millisecond
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	if err := timeout.Do(ctx, time.Second, work); err != nil {
		t.Errorf("weft: fast call: %v", err)
	}
	if err := timeout.Do(ctx, limit, slow); !errors.Is(err, timeout.ErrTimeout) {
		t.Errorf("weft: slow call: %v, want ErrTimeout", err)
	}

	tctx, cancel := context.WithTimeout(ctx, time.Second)
	if err := work(tctx); err != nil {
		t.Errorf("floor: fast call: %v", err)
	}
	cancel()
	tctx, cancel = context.WithTimeout(ctx, limit)
	if err := slow(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("floor: slow call: %v, want DeadlineExceeded", err)
	}
	cancel()

	exec := failsafe.With(fstimeout.New[any](time.Second)).WithContext(ctx)
	if err := exec.RunWithExecution(func(e failsafe.Execution[any]) error { return work(e.Context()) }); err != nil {
		t.Errorf("failsafe: fast call: %v", err)
	}
	var inside error
	exec = failsafe.With(fstimeout.New[any](limit)).WithContext(ctx)
	err := exec.RunWithExecution(func(e failsafe.Execution[any]) error {
		err := slow(e.Context())
		inside = context.Cause(e.Context())
		return err
	})
	if !errors.Is(err, fstimeout.ErrExceeded) {
		t.Errorf("failsafe: slow call: %v, want ErrExceeded", err)
	}
	t.Logf("failsafe: inside fn, context.Cause = %v (weft: %v)", inside, timeout.ErrTimeout)
}
