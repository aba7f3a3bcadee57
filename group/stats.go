package group

// Stats is a snapshot of a group's counters.
type Stats struct {
	// Running is the number of tasks running now.
	Running int
	// Started is the number of tasks that Go, GoNamed, TryGo and Start have
	// started (each of them runs).
	Started int
	// Failed is the number of tasks that returned an error, panicked or
	// called runtime.Goexit so far.
	Failed int
	// Completed is the number of tasks that have ended, however; Panicked
	// the number of them that panicked or called runtime.Goexit (they are
	// also Failed). Skipped is the number of tasks Go was given after the
	// context ended, which never ran. Like Started and Failed, they only
	// grow.
	Completed, Panicked, Skipped int
}

// Stats returns a snapshot of the group's counters. It takes no lock; while
// tasks start and end, the counters are read one after the other.
func (g *Group) Stats() Stats {
	ended := g.ended.Load() // first: a task ends after it starts
	started := g.started.Load()
	var failed, panicked, skipped int64
	if t := g.trouble.Load(); t != nil {
		failed, panicked, skipped = t.failed.Load(), t.panicked.Load(), t.skipped.Load()
	}
	return Stats{
		Running: int(max(started-ended, 0)), // a worker may end a task before Go counts it
		Started: int(started),
		Failed:  int(failed),
		// Read after started: a task counted here has been counted there.
		Completed: int(g.ended.Load()),
		Panicked:  int(panicked),
		Skipped:   int(skipped),
	}
}
