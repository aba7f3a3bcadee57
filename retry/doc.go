// Package retry calls a function again when it fails, waiting between
// attempts with exponential backoff and jitter. It honours permanent errors,
// server-sent Retry-After hints, the caller's deadline, and retry budgets that
// stop retry storms.
package retry
