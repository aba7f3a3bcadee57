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
// goroutine at the point of the panic. Wait re-panics with it (its message
// carries the original value and stack); with PanicAsError, or per item in
// Settle, it is returned as an error instead.
//
// When the task called runtime.Goexit (as testing.T.FailNow does) instead of
// returning, Goexit is true and Value is nil. Unwrap returns Value when it is
// an error, so errors.Is and errors.As see through the panic.
type PanicError = panics.Recovered

// newPanicError turns a recovered panic or Goexit into the *PanicError the
// group package reports. Every place that reports a task's panic goes
// through it, so the representation of PanicError can change in one place.
func newPanicError(r *panics.Recovered) *PanicError { return r }
