// Package timeout runs functions under deadlines that can be told apart from
// the caller's, keeps time back from a deadline for cleanup, and hedges slow
// calls to cut tail latency.
package timeout
