package group_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/group"
)

// mapSeqOutcome is what ranging over a sequence of (int, error) produced.
type mapSeqOutcome struct {
	vals     []int
	errs     []string
	panicked any // the recovered value's panic value, or nil
}

// FuzzMapSeq checks MapSeq against a plain sequential loop over the same
// items, for random limits, sizes, failure and panic positions and completion
// orders. plan[i] decides item i: plan[i]%4 is 0 or 3 for success, 1 for an
// error and 2 for a panic; plan[i]/4 is how often fn yields the processor
// first, which shuffles completion order.
func FuzzMapSeq(f *testing.F) {
	f.Add(uint8(1), uint16(5), []byte{}, false, false)
	f.Add(uint8(3), uint16(40), []byte{0, 4, 8, 1, 12, 0, 1, 2}, false, false)
	f.Add(uint8(2), uint16(30), []byte{40, 0, 0, 9, 0, 6, 0, 1}, true, false)
	f.Add(uint8(8), uint16(100), []byte{0, 0, 200, 0, 0, 2, 0, 1, 0, 0, 2}, true, true)
	f.Add(uint8(5), uint16(17), []byte{4, 8, 12, 16, 2}, false, true)
	f.Fuzz(func(t *testing.T, limit uint8, n uint16, plan []byte, keepGoing, panicAsError bool) {
		size := int(n % 257)
		step := func(i int) byte {
			if len(plan) == 0 {
				return 0
			}
			return plan[i%len(plan)]
		}
		fn := func(_ context.Context, i int) (int, error) {
			for range step(i) / 4 {
				runtime.Gosched()
			}
			switch step(i) % 4 {
			case 1:
				return -i, fmt.Errorf("fail %d", i)
			case 2:
				panic(i)
			}
			return 2 * i, nil
		}
		opts := []group.Option{group.Limit(int(limit%16) + 1)}
		if keepGoing {
			opts = append(opts, group.KeepGoing())
		}
		if panicAsError {
			opts = append(opts, group.PanicAsError())
		}

		got := mapSeqRange(group.MapSeq(context.Background(), slices.Values(gatherInts(size)), fn, opts...))

		// The reference: a sequential loop with the same policy.
		var want mapSeqOutcome
		func() {
			defer func() { want.panicked = recover() }()
			for i := range size {
				v, err := func() (v int, err error) {
					if panicAsError {
						defer func() {
							if p := recover(); p != nil {
								v, err = 0, fmt.Errorf("group: item %d: panic: %v", i, p)
							}
						}()
					}
					v, err = fn(context.Background(), i)
					if err != nil {
						err = fmt.Errorf("group: item %d: %w", i, err)
					}
					return v, err
				}()
				want.vals = append(want.vals, v)
				want.errs = append(want.errs, mapSeqErrText(err))
				if err != nil && !keepGoing {
					return
				}
			}
		}()

		if got.panicked == nil && want.panicked == nil {
			require.Equal(t, want, got)
			return
		}
		// A panic is never swallowed, even from an item that a sequential
		// loop would not have reached: the items yielded before it are a
		// prefix of the loop's, and it is the panic of a planned item.
		require.NotNil(t, got.panicked, "the loop panicked: %v", want.panicked)
		i, ok := got.panicked.(int)
		require.True(t, ok, "panic value %v", got.panicked)
		assert.Equal(t, byte(2), step(i)%4)
		require.LessOrEqual(t, len(got.vals), len(want.vals))
		assert.True(t, slices.Equal(want.vals[:len(got.vals)], got.vals), "got %v, loop %v", got.vals, want.vals)
		assert.True(t, slices.Equal(want.errs[:len(got.errs)], got.errs), "got %q, loop %q", got.errs, want.errs)
	})
}

// mapSeqRange ranges over seq and records what it yields and how it panics.
func mapSeqRange(seq func(func(int, error) bool)) (o mapSeqOutcome) {
	defer func() {
		if p := recover(); p != nil {
			var pe *group.PanicError
			if err, ok := p.(error); ok && errors.As(err, &pe) {
				p = pe.Value
			}
			o.panicked = p
		}
	}()
	for v, err := range seq {
		o.vals = append(o.vals, v)
		o.errs = append(o.errs, mapSeqErrText(err))
	}
	return o
}

// mapSeqErrText is err's message without the stack a panic carries.
func mapSeqErrText(err error) string {
	if err == nil {
		return ""
	}
	var pe *group.PanicError
	if errors.As(err, &pe) {
		msg := err.Error()
		return msg[:len(msg)-len(pe.Error())] + fmt.Sprintf("panic: %v", pe.Value)
	}
	return err.Error()
}
