// Package notify hands events to a user's callback in the order they
// happened, one call at a time, without holding any lock the callback could
// deadlock on.
package notify

import "sync"

// Queue holds events until Deliver passes them to a callback. Push events
// while holding whatever lock orders them (so the queue's order is the order
// they happened), then call Deliver with no lock held. The zero value is an
// empty queue ready for use.
type Queue[T any] struct {
	// mu guards the fields below.
	mu         sync.Mutex
	pending    []T  // events not yet delivered, oldest first
	delivering bool // a goroutine is inside Deliver's callback
}

// Push appends v to the queue.
func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.pending = append(q.pending, v)
	q.mu.Unlock()
}

// Deliver calls fn with each pending event, oldest first, and returns when
// the queue is empty. If another goroutine is already delivering, Deliver
// returns at once: that goroutine delivers the new events too, so fn is
// never called concurrently and events are never reordered. fn may call
// Push and Deliver (the latter then returns at once). If fn panics, the
// panic propagates and the events still pending wait for the next Deliver.
func (q *Queue[T]) Deliver(fn func(T)) {
	for {
		q.mu.Lock()
		if q.delivering || len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		v := q.pending[0]
		q.pending = q.pending[1:]
		if len(q.pending) == 0 {
			q.pending = nil // let the backing array go
		}
		q.delivering = true
		q.mu.Unlock()
		q.call(fn, v)
	}
}

func (q *Queue[T]) call(fn func(T), v T) {
	defer func() {
		q.mu.Lock()
		q.delivering = false
		q.mu.Unlock()
	}()
	fn(v)
}
