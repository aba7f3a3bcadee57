package breaker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/weftgo/weft/breaker"
)

// gauges returns s without its cumulative counters (other than Rejected),
// for tests that check the window and the state only.
func gauges(s breaker.Stats) breaker.Stats {
	s.Succeeded, s.Failed, s.Ignored, s.SlowCalls = 0, 0, 0, 0
	s.Opened, s.HalfOpened, s.Reclosed = 0, 0, 0
	return s
}

func TestCumulativeCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.ConsecutiveFailures(2), breaker.OpenFor(time.Second),
			breaker.SlowCalls(time.Second, 1, breaker.Window(100), breaker.MinCalls(100)))
		ctx := context.Background()
		fail := func(context.Context) error { return errors.New("failed") }
		slow := func(context.Context) error { time.Sleep(2 * time.Second); return nil }
		_ = b.Do(ctx, slow)
		_ = b.Do(ctx, fail)
		_ = b.Do(ctx, fail) // opens
		_ = b.Do(ctx, fail) // rejected
		time.Sleep(time.Second)
		_ = b.Do(ctx, fail) // a failed probe reopens
		time.Sleep(time.Second)
		_ = b.Do(ctx, func(context.Context) error { return nil }) // closes
		b.ForceOpen()
		b.Reset()
		assert.Equal(t, breaker.Stats{State: breaker.Closed, Rejected: 1, Succeeded: 2, Failed: 3, SlowCalls: 1,
			Opened: 3, HalfOpened: 2, Reclosed: 2}, b.Stats())
	})
}
