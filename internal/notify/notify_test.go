package notify_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/internal/notify"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDeliverInOrderOneAtATime(t *testing.T) {
	var (
		q       notify.Queue[int]
		mu      sync.Mutex // orders pushes, as a component's own lock does
		next    int
		got     []int
		inside  atomic.Int32
		overlap atomic.Bool
	)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				mu.Lock()
				q.Push(next)
				next++
				mu.Unlock()
				q.Deliver(func(v int) {
					if inside.Add(1) > 1 {
						overlap.Store(true)
					}
					got = append(got, v) // safe only if calls never overlap
					inside.Add(-1)
				})
			}
		}()
	}
	wg.Wait()
	q.Deliver(func(v int) { got = append(got, v) }) // nothing left: no call

	assert.False(t, overlap.Load(), "callback ran concurrently")
	require.Len(t, got, 1600)
	for i, v := range got {
		require.Equal(t, i, v, "events delivered out of order")
	}
}

func TestDeliverReentrant(t *testing.T) {
	var q notify.Queue[string]
	var got []string
	q.Push("a")
	q.Deliver(func(v string) {
		got = append(got, v)
		if v == "a" {
			q.Push("b")
			q.Deliver(func(string) { t.Error("nested Deliver must return at once") })
		}
	})
	assert.Equal(t, []string{"a", "b"}, got)
}

func TestDeliverAfterPanic(t *testing.T) {
	var q notify.Queue[int]
	q.Push(1)
	q.Push(2)
	assert.Panics(t, func() { q.Deliver(func(int) { panic("boom") }) })
	var got []int
	q.Deliver(func(v int) { got = append(got, v) })
	assert.Equal(t, []int{2}, got, "the event after the panic waits for the next Deliver")
}
