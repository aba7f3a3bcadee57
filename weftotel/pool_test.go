package weftotel_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/weftgo/weft/pool"
	"github.com/weftgo/weft/weftotel"
)

func reason(s string) attribute.KeyValue { return weftotel.ReasonKey.String(s) }

func TestPool(t *testing.T) {
	r := newReader(t)
	ctx := context.Background()
	fails := 1
	p := pool.New(func(context.Context) (int, error) {
		if fails > 0 {
			fails--
			return 0, errors.New("dial failed")
		}
		return 1, nil
	}, func(int) {}, pool.MaxSize(2))
	reg, err := weftotel.Pool(r.mp.Meter("test"), "conns", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Acquire(ctx); err == nil {
		t.Fatal("Acquire with a failing create succeeded")
	}
	a, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(t, r.collect(), "conns", []want{
		{"weft.pool.resources", []attribute.KeyValue{state("in_use")}, 2},
		{"weft.pool.resources", []attribute.KeyValue{state("idle")}, 0},
		{"weft.pool.resources.max", nil, 2},
		{"weft.pool.acquires", []attribute.KeyValue{outcome("acquired")}, 2},
		{"weft.pool.creates", []attribute.KeyValue{outcome("success")}, 2},
		{"weft.pool.creates", []attribute.KeyValue{outcome("failure")}, 1},
	})
	a.Destroy()
	b.Release()
	check(t, r.collect(), "conns", []want{
		{"weft.pool.resources", []attribute.KeyValue{state("in_use")}, 0},
		{"weft.pool.resources", []attribute.KeyValue{state("idle")}, 1},
		{"weft.pool.destroyed", []attribute.KeyValue{reason("broken")}, 1},
	})
	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
