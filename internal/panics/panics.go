// Package panics carries a panic, or a call to runtime.Goexit, out of the
// goroutine where it happened so that another goroutine can report or
// re-raise it with the original stack intact.
package panics

import (
	"bytes"
	"fmt"
	"runtime/debug"
)

// Recovered describes a function that did not return normally: it either
// panicked (Value holds what it panicked with) or called runtime.Goexit
// (Goexit is true, Value is nil). Stack is the stack of the goroutine at the
// point of recovery, which includes the frames of the function that panicked.
//
// A *Recovered is an error. Its message holds the value and the stack, so a
// Recovered that is re-panicked in another goroutine still prints where the
// original panic came from. The message does not begin with "panic: ",
// which the runtime already prints before a panic value that crashes the
// program: a re-panicked Recovered reads
//
//	panic: boom [recovered]
//
//		goroutine 7 [running]:
//		panic(...)
//		...the frames of the goroutine that panicked...
//
// followed by the stack of the goroutine that re-panicked.
type Recovered struct {
	// Value is the value passed to panic, or nil when Goexit is true.
	Value any
	// Stack is the formatted stack of the goroutine that panicked, as
	// returned by runtime/debug.Stack at the point of recovery, less the
	// frames of the recovery itself: after the goroutine's header line it
	// starts at the frame of panic (or runtime.Goexit), followed by the
	// function that called it.
	Stack []byte
	// Goexit reports that the function called runtime.Goexit (as
	// testing.T.FailNow does) instead of returning or panicking.
	Goexit bool
}

// Error returns Message(r.Value, r.Stack, r.Goexit).
func (r *Recovered) Error() string { return Message(r.Value, r.Stack, r.Goexit) }

// Message is the text of a recovered panic: the panic value marked
// "[recovered]", as the runtime marks a recovered panic in a traceback, then
// a blank line and the stack it was recovered from. For a Goexit it says that
// runtime.Goexit was called. The exported panic types of weft's packages
// (group.PanicError, timeout.PanicError) format themselves with it.
func Message(value any, stack []byte, goexit bool) string {
	if goexit {
		return fmt.Sprintf("runtime.Goexit called in task (for example by testing.T.FailNow)\n\n%s", stack)
	}
	return fmt.Sprintf("%v [recovered]\n\n%s", value, stack)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As reach it, and nil otherwise.
func (r *Recovered) Unwrap() error {
	if err, ok := r.Value.(error); ok {
		return err
	}
	return nil
}

// Repanic panics with r in the calling goroutine. Because r is an error, the
// runtime prints its Error text, which carries the original value and stack;
// recover returns r itself, from which Value and Stack are reachable.
func (r *Recovered) Repanic() {
	panic(r)
}

// Catch calls fn and returns its error. If fn panics, Catch stops the
// panic, stores a *Recovered with Value set in *r and returns nil; if fn
// calls runtime.Goexit, it stores a *Recovered with Goexit set. So *r != nil
// says that Catch caught something, and the error fn returned is never taken
// for a panic, even when it is a *Recovered.
//
// A Goexit cannot be stopped: the goroutine still ends, after the deferred
// calls of Catch's caller have run. Catch stores *r before that, so a
// deferred call of the caller that reads *r sees the Goexit:
//
//	go func() {
//		var r *panics.Recovered
//		defer func() { report(r) }() // runs on every path, Goexit included
//		err := panics.Catch(&r, task)
//		...
//	}()
//
// *r must be nil when Catch is called.
func Catch(r **Recovered, fn func() error) error {
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit
			*r = From(recover())
		}
	}()
	err := fn()
	returned = true
	return err
}

// From returns the *Recovered for v, the value recover returned in a
// deferred function that runs because the function it guards did not
// return: it panicked (v is the panic value; since Go 1.21 panic(nil)
// recovers as *runtime.PanicNilError) or it called runtime.Goexit (v is
// nil). Call From in that deferred function, so that the stack it records is
// the one that panicked. Catch uses it; code that needs no more than Catch
// offers should call Catch, which needs no flag to tell a Goexit from a
// return.
func From(v any) *Recovered {
	return &Recovered{Value: v, Stack: stack(v == nil), Goexit: v == nil}
}

// stack returns the calling goroutine's stack without the frames above the
// call of panic (or of runtime.Goexit when goexit is set): those of
// debug.Stack and of the deferred function that recovered.
func stack(goexit bool) []byte {
	s := debug.Stack()
	frame := []byte("\npanic(")
	if goexit {
		frame = []byte("\nruntime.Goexit(")
	}
	if i, h := bytes.Index(s, frame), bytes.IndexByte(s, '\n'); i > h {
		s = append(s[:h], s[i:]...) // the "goroutine N [running]:" line, then frame
	}
	return s
}
