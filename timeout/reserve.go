package timeout

import (
	"context"
	"time"
)

// Remaining returns the time left before ctx's deadline and true, or 0 and
// false when ctx has no deadline. The time left is never negative: it is 0
// once the deadline has passed.
func Remaining(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return max(time.Until(dl), 0), true
}

// Reserve returns a child of ctx whose deadline is d earlier than ctx's, so
// that the time d is kept back for cleanup or for answering the caller after
// work under the child has given up. When that earlier deadline passes, the
// child's Err is context.DeadlineExceeded and its Cause is an error that
// says d was reserved and satisfies errors.Is(cause, context.DeadlineExceeded).
//
// If ctx has less than d left, the child is already done when Reserve
// returns, with a cause that says how much time was left. If ctx has no
// deadline, or d <= 0, there is nothing to keep back: the child only ends
// with ctx or when cancel is called. If ctx ends first, the child has ctx's
// cause.
//
// As with context.WithDeadline, the caller must call cancel once the child
// is no longer needed, to release its timer. Reserve panics with "timeout:
// nil context" if ctx is nil.
func Reserve(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if ctx == nil {
		panic("timeout: nil context")
	}
	dl, ok := ctx.Deadline()
	if !ok || d <= 0 {
		return context.WithCancel(ctx)
	}
	cause := &reserved{kept: d, left: -1}
	if left := time.Until(dl); left < d {
		cause.left = max(left, 0)
	}
	return context.WithDeadlineCause(ctx, dl.Add(-d), cause)
}

// reserved is the cause of a context made by Reserve that reached its
// deadline.
type reserved struct {
	kept time.Duration // the time kept back, Reserve's d
	left time.Duration // the time the parent had left when that was less than kept, else -1
}

func (e *reserved) Error() string {
	if e.left >= 0 {
		return "timeout: Reserve(" + e.kept.String() + "): only " + e.left.String() + " left before the parent's deadline"
	}
	return "timeout: Reserve(" + e.kept.String() + "): deadline reached, " + e.kept.String() + " kept back before the parent's deadline"
}

// Is reports whether target is context.DeadlineExceeded.
func (e *reserved) Is(target error) bool { return target == context.DeadlineExceeded }
