package pool_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// conn is the resource of most tests: a numbered value whose creates and
// destroys a tracker counts.
type conn struct {
	id int
}

// tracker creates and destroys conns and records what happened to each, so
// that tests can check that every conn created was destroyed exactly once
// and that no more than the pool's MaxSize were alive at once.
type tracker struct {
	mu        sync.Mutex
	next      int
	live      int // created and not yet destroyed
	peakLive  int
	inCreate  int // create calls running
	peakIn    int
	destroyed map[int]int // id -> destroy calls
	creates   int         // create calls, failed ones included
	// fail, when set, decides whether create call n (from 1) fails.
	fail func(n int) error
	// gate, when set, is received from by every create before it returns
	// (or ctx ends: then create fails with ctx's cause).
	gate chan struct{}
}

func newTracker() *tracker { return &tracker{destroyed: map[int]int{}} }

func (tr *tracker) create(ctx context.Context) (*conn, error) {
	tr.mu.Lock()
	tr.creates++
	n := tr.creates
	tr.inCreate++
	tr.peakIn = max(tr.peakIn, tr.inCreate)
	gate, fail := tr.gate, tr.fail
	tr.mu.Unlock()
	defer func() {
		tr.mu.Lock()
		tr.inCreate--
		tr.mu.Unlock()
	}()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	if fail != nil {
		if err := fail(n); err != nil {
			return nil, err
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.next++
	tr.live++
	tr.peakLive = max(tr.peakLive, tr.live)
	return &conn{id: tr.next}, nil
}

func (tr *tracker) destroy(c *conn) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.destroyed[c.id]++
	tr.live--
}

// verify checks that every conn created was destroyed exactly once and that
// at most maxLive were alive at once.
func (tr *tracker) verify(t *testing.T, maxLive int) {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for id := 1; id <= tr.next; id++ {
		if n := tr.destroyed[id]; n != 1 {
			t.Errorf("conn %d destroyed %d times, want 1", id, n)
		}
	}
	if len(tr.destroyed) != tr.next {
		t.Errorf("%d conns destroyed, %d created", len(tr.destroyed), tr.next)
	}
	if tr.peakLive > maxLive {
		t.Errorf("%d conns alive at once, MaxSize %d", tr.peakLive, maxLive)
	}
}

func (tr *tracker) stats() (created, destroyed, peakIn int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.next, len(tr.destroyed), tr.peakIn
}

func (c *conn) String() string { return fmt.Sprintf("conn%d", c.id) }
