package group

import (
	"fmt"
	"runtime"

	"github.com/weftgo/weft/internal/panics"
)

// An Option configures a Group, a ResultGroup, or one of the one-call
// helpers (Map, ForEach, Settle, MapSeq). The same values work for all of
// them.
type Option func(*config)

// config is the resolved set of options. The zero value is the default of
// New: no limit, first error cancels, panics re-raised, no name.
type config struct {
	limit        int // 0: no limit (New) or GOMAXPROCS (the helpers)
	keepGoing    bool
	panicAsError bool
	name         string

	// Executor only (see executor.go).
	queue       int   // Queue's n, when queueSet
	queueSet    bool  // Queue was given
	idleTimeout int64 // IdleTimeout's d in ns; 0: the default
	aging       int   // Aging's k; 0: the default
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// helperLimit returns the number of workers for Map, ForEach, Settle and
// MapSeq: the configured limit, or runtime.GOMAXPROCS(0) when none was set.
func (c *config) helperLimit() int {
	if c.limit > 0 {
		return c.limit
	}
	return runtime.GOMAXPROCS(0)
}

// Limit bounds the number of tasks running at once to n. For a Group, Go
// blocks while n tasks are running; for Map, ForEach, Settle and MapSeq it is
// the number of workers (default runtime.GOMAXPROCS(0)).
//
// Limit panics if n < 1.
func Limit(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("group: Limit(%d): n must be at least 1", n))
	}
	return func(c *config) { c.limit = n }
}

// KeepGoing makes errors not cancel the other tasks: every task runs to its
// end, and Wait returns all errors joined with errors.Join in the order they
// occurred. Without it, the first error cancels the group's context and is
// the one Wait returns.
func KeepGoing() Option {
	return func(c *config) { c.keepGoing = true }
}

// PanicAsError makes a panicking task fail with a *PanicError instead of
// having Wait re-panic. The panic still counts as the task's failure.
func PanicAsError() Option {
	return func(c *config) { c.panicAsError = true }
}

// Name labels the group's goroutines with the pprof label group=name, so
// goroutine dumps and CPU profiles show which group a goroutine belongs to.
func Name(name string) Option {
	return func(c *config) { c.name = name }
}

// PanicError is a panic recovered from a task, with the stack of the task's
// goroutine at the point of the panic. Wait re-panics with it; with
// PanicAsError, or per item in Settle, it is returned as an error instead.
//
// Its message carries the original value and the task's stack, so a
// re-raised PanicError that crashes the program still shows where the panic
// happened:
//
//	panic: boom [recovered]
//
//		goroutine 7 [running]:
//		panic(...)
//		...the frames of the task that panicked...
//
// followed by the stack of the goroutine that re-raised it.
type PanicError struct {
	// Value is the value the task panicked with, or nil when Goexit is set.
	// A panic(nil) is a *runtime.PanicNilError.
	Value any
	// Stack is the formatted stack of the task's goroutine where it
	// panicked, as runtime/debug.Stack formats it: the goroutine's header
	// line, then the frame of panic (or runtime.Goexit) and the frames of
	// the task that called it.
	Stack []byte
	// Goexit reports that the task called runtime.Goexit (as
	// testing.T.FailNow does) instead of returning or panicking.
	Goexit bool
}

// Error returns the panic value marked "[recovered]", as the runtime marks
// a recovered panic, then a blank line and Stack. For a Goexit it says that
// runtime.Goexit was called.
func (e *PanicError) Error() string { return panics.Message(e.Value, e.Stack, e.Goexit) }

// Unwrap returns Value when it is an error, so that errors.Is and errors.As
// see through the panic, and nil otherwise.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// newPanicError turns a recovered panic or Goexit into the *PanicError the
// group package reports. Every place that reports a task's panic goes
// through it, so the representation of PanicError can change in one place.
func newPanicError(r *panics.Recovered) *PanicError {
	return &PanicError{Value: r.Value, Stack: r.Stack, Goexit: r.Goexit}
}
