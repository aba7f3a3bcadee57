// Package monitor watches the Go scheduler and runtime the way Node's
// monitorEventLoopDelay watches an event loop: how long runnable goroutines
// wait for a CPU (the scheduler latency of runtime/metrics), how late a
// periodic timer fires, how long GC pauses last, and how much time goroutines
// spend blocked on mutexes. From the scheduler latency it derives one cheap
// signal, [Monitor.Overloaded], for admission decisions: a server that sheds
// requests while it is set keeps the latency of the requests it serves low
// when offered more work than its CPUs can do.
//
//	m := monitor.Start(ctx, monitor.Window(10*time.Second))
//	defer m.Stop()
//	h = limiter.Handler(h, limiter.ShedWhen(m.Overloaded))
//	http.Handle("/debug/weft/runtime", m.Handler())
//
// A Monitor is one goroutine that wakes every Interval/10 (10ms by default)
// to measure the timer lag, and reads runtime/metrics every Interval. It
// stops when its context ends or when Stop is called, and Stop waits for it.
//
// The runtime's histograms are cumulative since the process started; the
// monitor keeps a few cumulative readings and reports quantiles of the
// differences between them, interpolated linearly within buckets. Metrics
// that the running toolchain does not provide (for example the runnable
// goroutine count, new in Go 1.26) are reported as -1, never as an error.
//
// Misuse follows the library's rule: invalid options panic at once naming
// the option and value ("monitor: Window(0s): d must be positive"), a nil
// context panics with "monitor: nil context", and a Monitor not made by
// Start panics on first use with "monitor: Monitor used without Start".
package monitor
