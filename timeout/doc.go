// Package timeout runs functions under deadlines that can be told apart from
// the caller's, keeps time back from a deadline for cleanup, and hedges slow
// calls to cut tail latency.
//
// Do and Get run a function under a deadline of their own. Unlike a bare
// context.WithTimeout, they tell whose deadline ended the call: an error
// that satisfies errors.Is(err, ErrTimeout) means their own time limit
// passed, while the caller's deadline or cancellation comes back unchanged.
// Inside the function, context.Cause reports ErrTimeout too. Transport does
// the same for each request an http.Client sends, response body included.
//
// Remaining and Reserve work with the deadline a context already has:
// Reserve makes a child that gives up early, keeping time back for cleanup
// or for answering the caller.
//
// Hedge starts a second attempt when the first is slow and takes the first
// success; the losers are cancelled and waited for.
//
// Every function here is structured: the goroutines it starts have returned
// before it returns. None of them can stop a function that ignores its
// context: they cancel the context and wait.
//
// # Misuse
//
// Durations passed at call time follow context.WithTimeout: Do(ctx, d, fn)
// with d <= 0 is a deadline already past (an *Error, fn not called),
// Reserve with d <= 0 keeps nothing back, and Hedge takes a negative delay
// as 0; none of them panics. A nil context or
// function passed at call time panics with "timeout: nil context" or
// "timeout: nil function". Configuration made once, at construction, panics
// at once on an invalid value, naming it: Transport(base, 0) panics with
// "timeout: Transport(0s): d must be positive", since every request it sent
// would fail.
//
// # Where Transport goes
//
// In a stack of http.RoundTrippers, put timeout.Transport innermost, next to
// the network, so that each try has a deadline of its own and a retry
// outside it can try again (see the README's resilient client).
package timeout
