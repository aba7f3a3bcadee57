// Package observe is the one hook shape weft's packages use for facts that
// are events rather than counts: the time a caller waited in a queue, the
// time a call ran. A primitive keeps a Hooks and exposes
//
//	func (x *T) Observe(fn func(Observation)) (remove func())
//
// with Observation re-exported as an alias (type Observation =
// observe.Observation), so that one observer function serves every package.
// With no observer attached, Active is one atomic load of a nil pointer, so
// a primitive reads the clock only for events someone observes.
package observe

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event kinds, the values of Observation.Event.
const (
	// Wait is the time a caller spent queued for admission. Err is nil if
	// it was admitted, or why it left the queue (its context's cause, a
	// closed primitive).
	Wait = "wait"
	// Call is the time a call ran once admitted. Err is what it returned.
	Call = "call"
)

// Observation is one timed event of a primitive.
type Observation struct {
	// Event is the kind of event: "wait" or "call".
	Event string
	// Duration is how long the event took.
	Duration time.Duration
	// Err is the event's error, nil if it succeeded; see the event kinds.
	Err error
}

// Hooks is a set of observer functions. The zero value is empty and ready
// to use; it must not be copied after first use. Emit and Active take no
// lock; Add and its remove function take one.
type Hooks struct {
	mu   sync.Mutex // serialises Add and remove
	list atomic.Pointer[[]*entry]
}

// entry wraps a function so that two equal functions are told apart.
type entry struct{ fn func(Observation) }

// Active reports whether at least one observer is attached. Check it before
// reading the clock for an event.
func (h *Hooks) Active() bool { return h.list.Load() != nil }

// Emit calls every observer with o, in the order they were added, in the
// caller's goroutine.
func (h *Hooks) Emit(o Observation) {
	if l := h.list.Load(); l != nil {
		for _, e := range *l {
			e.fn(o)
		}
	}
}

// Add attaches fn and returns the function that detaches it, which is
// idempotent. fn must be safe for concurrent use and quick: it runs on the
// primitive's path. Add panics with pkg's name if fn is nil.
func (h *Hooks) Add(pkg string, fn func(Observation)) (remove func()) {
	if fn == nil {
		panic(pkg + ": Observe(nil)")
	}
	e := &entry{fn: fn}
	h.mu.Lock()
	var l []*entry
	if old := h.list.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, e)
	h.list.Store(&l)
	h.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { h.remove(e) }) }
}

// remove detaches e, leaving a nil list when it was the last.
func (h *Hooks) remove(e *entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.list.Load()
	if old == nil {
		return
	}
	var l []*entry
	for _, x := range *old {
		if x != e {
			l = append(l, x)
		}
	}
	if len(l) == 0 {
		h.list.Store(nil)
		return
	}
	h.list.Store(&l)
}
