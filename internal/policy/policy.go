// Package policy is the error and panic policy of weft's gatherers, written
// once: group.Group, group.ResultGroup, group.Map, group.ForEach,
// group.MapSeq, group.First and timeout.Hedge all apply it.
//
// The rules:
//
//   - The first error cancels the call's context, with the error as its
//     cause, and is the error the call returns. With KeepGoing, errors cancel
//     nothing and the call returns all of them joined with errors.Join.
//   - The first panic (or runtime.Goexit) is kept with its stack, cancels the
//     context even with KeepGoing, and is re-raised by the caller once every
//     goroutine has returned. With PanicAsError it is an error like any other.
//   - An error that only echoes the context's cancellation (context.Canceled
//     or context.DeadlineExceeded, returned once the context is done) is
//     reported as the context's cause, once, and not at all when the cause
//     is a failure already reported.
//   - The error of a named task or of an item names it, and wraps the
//     original so that errors.Is and errors.As still reach it.
package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Echo reports whether err is only ctx's cancellation echoing back from a
// task: once ctx is done, an error matching context.Canceled,
// context.DeadlineExceeded or ctx's cause (a task may return
// context.Cause(ctx), and an earlier stage of a pipeline passes the cause on).
func Echo(ctx context.Context, err error) bool {
	if ctx.Err() == nil {
		return false
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Cause(ctx))
}

// A Name says which task an error came from. The zero Name names nothing:
// errors pass unwrapped.
type Name struct {
	kind  string // "task", "item" or "function"; "" for none
	name  string // kind "task"
	index int    // kinds "item" and "function"
}

// Task names a task started with a name: `group: task "fetch": ...`. An
// empty name names nothing.
func Task(name string) Name {
	if name == "" {
		return Name{}
	}
	return Name{kind: "task", name: name}
}

// Item names the item at index i of a Map, ForEach or MapSeq call:
// "group: item 3: ...".
func Item(i int) Name { return Name{kind: "item", index: i} }

// Function names the function at index i of a First call:
// "group: function 2: ...".
func Function(i int) Name { return Name{kind: "function", index: i} }

// Wrap returns err wrapped so that its message names n, or err itself when n
// is the zero Name or err is nil.
func (n Name) Wrap(err error) error {
	if n.kind == "" || err == nil {
		return err
	}
	return &NamedError{name: n, err: err}
}

// A NamedError is an error that names the task or item it came from.
type NamedError struct {
	name Name
	err  error
}

// Error returns the name, then the original error's message.
func (e *NamedError) Error() string {
	if e.name.kind == "task" {
		return fmt.Sprintf("group: task %q: %v", e.name.name, e.err)
	}
	return fmt.Sprintf("group: %s %d: %v", e.name.kind, e.name.index, e.err)
}

// Unwrap returns the original error.
func (e *NamedError) Unwrap() error { return e.err }

// Options are the choices the policy leaves to the caller.
type Options struct {
	// KeepGoing: errors cancel nothing and are all kept.
	KeepGoing bool
	// PanicAsError: a panic is an error like any other, not re-raised.
	PanicAsError bool
	// Indexed: errors are kept in the order of the index given to FailAt
	// (First, Hedge) rather than in the order they occurred. It implies
	// KeepGoing.
	Indexed bool
}

// A Policy applies the rules to the tasks of one call. Init it before use;
// its methods are safe for concurrent use, and take a lock only when a task
// fails or panics.
type Policy struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	opts   Options

	mu        sync.Mutex
	err       error   // the first error (default)
	errs      []error // every error (KeepGoing, Indexed: by index, nil where none)
	n         int     // Indexed: the number of indexes, for errs once a task fails
	causeAt   int     // where the echoed cause is: index in errs, or 0 for err; -1 if none
	causeSeen bool    // the context's cause is already reported (or was a failure)
	panicked  error   // the first panic, re-raised by the caller

	hasPanic atomic.Bool // panicked is set: Panicked takes no lock until then
}

// Init sets p up for a call whose context is ctx, cancelled with cancel.
// With Indexed, n is the number of indexes FailAt may be given.
func (p *Policy) Init(ctx context.Context, cancel context.CancelCauseFunc, opts Options, n int) {
	p.ctx, p.cancel, p.opts, p.causeAt = ctx, cancel, opts, -1
	if opts.Indexed {
		p.opts.KeepGoing = true
		p.n = n
	}
}

// Fail applies the policy to err, a non-nil error that a task named n
// returned, and reports whether the caller may go on with further work of
// the same worker (false once the error has cancelled the context, or when
// it only echoes the cancellation).
func (p *Policy) Fail(err error, n Name) bool {
	return p.FailAt(-1, err, n)
}

// FailAt is Fail for the task at index i of an Indexed policy.
func (p *Policy) FailAt(i int, err error, n Name) bool {
	if Echo(p.ctx, err) {
		p.reportCause(i)
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addLocked(i, n.Wrap(err))
}

// addLocked keeps err, a failure, and reports whether the caller may go on.
func (p *Policy) addLocked(i int, err error) bool {
	switch {
	case p.opts.Indexed && i >= 0:
		p.indexedLocked()[i] = err
		return true
	case p.opts.KeepGoing:
		p.appendLocked(err)
		return true
	}
	if p.err == nil {
		p.err = err
		if p.ctx.Err() == nil {
			p.causeSeen = true
			p.cancel(err)
		}
	}
	return false
}

// Panic applies the policy to pe, the error value that the caller made of a
// task's panic (or runtime.Goexit): with PanicAsError it is kept as a
// failure of the task named n, otherwise the first one is kept for Panicked
// and cancels the context. It reports whether the caller may go on.
func (p *Policy) Panic(pe error, n Name) bool {
	return p.PanicAt(-1, pe, n)
}

// PanicAt is Panic for the task at index i of an Indexed policy.
func (p *Policy) PanicAt(i int, pe error, n Name) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.PanicAsError {
		return p.addLocked(i, n.Wrap(pe))
	}
	if p.panicked == nil {
		p.panicked = pe
		p.hasPanic.Store(true)
		if p.ctx.Err() == nil {
			p.causeSeen = true
			p.cancel(pe)
		}
	}
	return false
}

// Cause reports the context's cause as a failure, once, unless it is
// already reported: the caller calls it for work that did not start because
// the context is done. Errors that echo the cancellation go through it too.
func (p *Policy) Cause() { p.reportCause(-1) }

// reportCause reports the context's cause at index i (-1: none), once.
func (p *Policy) reportCause(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.Indexed && i >= 0 && p.causeAt > i {
		// By index: the cause goes to the first index that echoes it,
		// whichever echoed first in time.
		errs := p.indexedLocked()
		errs[i], errs[p.causeAt], p.causeAt = errs[p.causeAt], nil, i
		return
	}
	if p.causeSeen {
		return
	}
	p.causeSeen = true
	cause := context.Cause(p.ctx)
	switch {
	case p.opts.Indexed && i >= 0:
		p.indexedLocked()[i], p.causeAt = cause, i
	case p.opts.KeepGoing:
		p.causeAt = p.appendLocked(cause)
	case p.err == nil:
		p.err, p.causeAt = cause, 0
	}
}

// appendLocked adds err after the errors kept and returns its index.
func (p *Policy) appendLocked(err error) int {
	if p.opts.Indexed {
		p.indexedLocked() // the indexes come first
	}
	p.errs = append(p.errs, err)
	return len(p.errs) - 1
}

// indexedLocked returns errs of an Indexed policy, made on first use: a call
// in which nothing fails allocates nothing for it.
func (p *Policy) indexedLocked() []error {
	if p.errs == nil {
		p.errs = make([]error, p.n, p.n+1)
	}
	return p.errs
}

// Panicked returns the first panic kept by Panic, or nil. The caller
// re-raises it once every task has returned.
func (p *Policy) Panicked() error {
	if !p.hasPanic.Load() {
		return nil
	}
	return p.panic()
}

// panic returns the first panic kept by Panic.
func (p *Policy) panic() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.panicked
}

// Err returns the call's error: the first failure, or with KeepGoing (and
// Indexed) all of them joined, or nil. When replace is not nil, it stands
// for the context's cause where the cause was reported; when the cause was
// not reported, replace is added after the failures.
func (p *Policy) Err(replace error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.opts.KeepGoing {
		switch {
		case replace == nil:
			return p.err
		case p.err == nil || p.causeAt == 0:
			return replace
		}
		return errors.Join(p.err, replace)
	}
	errs := p.errs
	if replace != nil {
		errs = append([]error(nil), errs...)
		if p.causeAt >= 0 {
			errs[p.causeAt] = replace
		} else {
			errs = append(errs, replace)
		}
	}
	return errors.Join(errs...)
}

// Errs returns the failures kept so far, without the nil entries of an
// Indexed policy, in a new slice.
func (p *Policy) Errs() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, err := range p.errs {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if p.err != nil {
		errs = append(errs, p.err)
	}
	return errs
}
