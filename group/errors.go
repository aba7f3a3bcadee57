package group

import (
	"errors"
	"fmt"
)

// ErrDone is the cause of a group's context once Wait has returned, when no
// task failed and the group was not cancelled before.
var ErrDone = errors.New("group: Wait has returned")

// ErrNotStarted is matched (with errors.Is) by Wait's error when Go, GoNamed
// or Start did not start a task because the group's context was done. The
// error is then a *NotStartedError, which says how many.
var ErrNotStarted = errors.New("group: tasks not started")

// A NotStartedError reports the tasks that Go, GoNamed or Start did not
// start because the group's context was done. It matches ErrNotStarted and
// unwraps to the context's cause.
type NotStartedError struct {
	// N is the number of tasks not started.
	N int
	// Cause is the cause of the group's context.
	Cause error
}

// Error says how many tasks were not started, and why.
func (e *NotStartedError) Error() string {
	if e.N == 1 {
		return fmt.Sprintf("group: 1 task not started: %v", e.Cause)
	}
	return fmt.Sprintf("group: %d tasks not started: %v", e.N, e.Cause)
}

// Is reports whether target is ErrNotStarted.
func (e *NotStartedError) Is(target error) bool { return target == ErrNotStarted }

// Unwrap returns the cause of the group's context.
func (e *NotStartedError) Unwrap() error { return e.Cause }
