// Package group runs tasks concurrently under structured concurrency: every
// goroutine a group starts has returned before Wait (or the one-call helper
// that started it) returns, on every path — success, error, panic and
// cancellation.
//
// A Group runs func(context.Context) error tasks; a ResultGroup collects
// values in the order the tasks were started. Map, ForEach, Settle, First and
// MapSeq cover the common shapes in one call: bounded parallel map, gather of
// partial failures, first success, and ordered streaming over an iter.Seq
// (MapSeq2 chains such stages).
//
// # Errors and panics
//
// Every gatherer in the package (and timeout.Hedge) applies one policy:
//
//   - The first task to fail cancels the context of the others, with its
//     error as the cause (context.Cause), and is the error returned. With
//     KeepGoing, errors cancel nothing and all of them are returned, joined
//     with errors.Join in the order they occurred.
//   - An error that only echoes the cancellation (context.Canceled,
//     context.DeadlineExceeded or the context's cause, returned once the
//     context is done) is reported as the context's cause, once, and not at
//     all when the cause is a failure already reported. So a group whose
//     parent is cancelled with a cause returns that cause.
//   - The error of a task started with GoNamed, or of an item of Map,
//     ForEach, MapSeq or First, names it ("group: task \"fetch\": ...",
//     "group: item 3: ...") and wraps the original for errors.Is and
//     errors.As.
//   - A panic in a task, or a call to runtime.Goexit, is captured with the
//     task's stack, cancels the others (even with KeepGoing) and is re-raised
//     in the caller's goroutine as a *PanicError once every task has
//     returned. With PanicAsError it is an error like any other. Settle
//     keeps each item's outcome instead, panics included.
//
// # Nesting
//
// A task that needs subtasks of its own gives them a nested group created
// from its context (group.New(ctx, ...)) and waits for it: that cannot
// deadlock, because a nested group's tasks never wait for a slot of the
// outer group. A task may also call TryGo on its own group, which never
// blocks, and run the subtask inline when it returns false. Two things
// hang: calling Go on a limited group from inside one of its own tasks, once
// every slot is held by a task doing the same (as with errgroup.SetLimit);
// and calling Wait from inside one of the group's own tasks, which waits for
// itself.
//
// # Misuse
//
// Programmer errors panic with a message that starts with "group: ": a nil
// context or function ("group: nil context", "group: nil function"), Limit
// below 1, a Group used without New ("group: Group used without New"), and
// Go, GoNamed, TryGo or Start called after Wait has returned ("group: TryGo
// called after Wait returned"). Go may be called from the group's tasks at
// any time, and from other goroutines before Wait is called. Conditions of a
// correct program are errors: a context that ended (its cause), tasks not
// started (ErrNotStarted).
//
// # Cost
//
// A Group without a limit starts one goroutine per task, as errgroup does:
// Go allocates the goroutine's closure, so a task costs two allocations with
// the caller's own closure (GoNamed adds a wrapper that carries the name).
// Besides that, Go checks the context and a task pays a deferred recover
// and two counter adds (for Stats), which errgroup does not; internal/compare's
// GroupGoWait/floorsafe row measures that much written inline. A group's
// record of failed and not-started tasks is allocated by the first of them,
// so a group where nothing fails carries none of it.
// With Limit(n), tasks run on at most n worker
// goroutines, which take the next task directly from Go instead of ending and
// being started again: Go allocates nothing, and a Go call blocked at the
// limit waits in a select on the hand-over and the group's context. The
// workers stay idle between tasks and end when Wait returns.
//
// Map, ForEach and Settle run on dedicated workers that claim indexes in
// chunks shrinking as the end nears (guided self-scheduling), so tiny items
// cost a few nanoseconds each while slow items still spread evenly; a call
// allocates a fixed amount besides its result slice, whatever the number of
// items. MapSeq allocates a fixed amount each time its sequence is ranged
// over and nothing per item. The tests guard each of these counts with
// testing.AllocsPerRun.
package group
