package weftotel_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/attribute"

	"github.com/weftgo/weft/group"
	"github.com/weftgo/weft/weftotel"
)

func TestExecutor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader(t)
		ctx := context.Background()
		ex := group.NewExecutor(ctx, group.Limit(1), group.Queue(1))
		reg, err := weftotel.Executor(r.mp.Meter("test"), "jobs", ex)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		release := make(chan struct{})
		if err := ex.Submit(ctx, func(context.Context) error { <-release; return nil }); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := ex.Submit(ctx, func(context.Context) error { return errBoom }); err != nil {
			t.Fatal(err)
		}
		if err := ex.TrySubmit(func(context.Context) error { return nil }); !errors.Is(err, group.ErrFull) {
			t.Fatalf("TrySubmit on a full executor = %v, want ErrFull", err)
		}
		check(t, r.collect(), "jobs", []want{
			{"weft.executor.limit", nil, 1},
			{"weft.executor.running", nil, 1},
			{"weft.executor.queued", nil, 1},
			{"weft.executor.submitted", nil, 2},
			{"weft.executor.tasks", []attribute.KeyValue{outcome("rejected")}, 1},
		})
		close(release)
		if err := ex.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, r.collect(), "jobs", []want{
			{"weft.executor.running", nil, 0},
			{"weft.executor.queued", nil, 0},
			{"weft.executor.tasks", []attribute.KeyValue{outcome("succeeded")}, 1},
			{"weft.executor.tasks", []attribute.KeyValue{outcome("failed")}, 1},
			{"weft.executor.tasks", []attribute.KeyValue{outcome("panicked")}, 0},
		})
	})
}
