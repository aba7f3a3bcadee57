// Package group runs tasks concurrently under structured concurrency: every
// goroutine a group starts has returned before Wait (or the one-call helper
// that started it) returns, on every path — success, error, panic and
// cancellation.
//
// A Group runs func(context.Context) error tasks; a ResultGroup collects
// values in the order the tasks were started. Map, ForEach, Settle, First and
// MapSeq cover the common shapes in one call: bounded parallel map, gather of
// partial failures, first success, and ordered streaming over an iter.Seq.
package group
