package group

import "math/bits"

// execQueue is the Executor's queue of accepted tasks waiting for a worker:
// one FIFO ring per priority.
//
// Order: tasks leave in decreasing order of prio×aging − seq, where seq
// numbers the pushes, and the older first on a tie. So a task is overtaken
// only by tasks of higher priority pushed fewer than aging × (difference in
// priority) pushes after it: a steady stream of higher priority work delays
// it for a bounded number of tasks and cannot starve it. Tasks of one
// priority leave in the order they came, so comparing the heads of the rings
// is enough. The order of two tasks never changes while they wait, so
// nothing is recomputed as time passes.
//
// A future cancelled while queued is removed at once from the counts and
// left in its ring as a tombstone, skipped when it reaches the head; a ring
// with more tombstones than tasks is compacted, so memory stays proportional
// to the number of queued tasks.
//
// The zero execQueue is empty, with aging 1. It is not safe for concurrent
// use: the Executor guards it with its mutex.
type execQueue struct {
	levels []*execLevel // highest priority first; some may be empty
	free   []*execLevel // empty rings kept for reuse
	n      int          // live tasks in all rings
	seq    uint64       // tasks pushed so far: the order of arrival
	aging  uint64       // pushes a level of priority is worth

	// first is the first ring the queue uses (usually priority 0's),
	// stored inline so that the common single-priority queue reaches its
	// ring without a pointer to another cache line: about 15% on
	// BenchmarkExecutorTiny/weft. FuzzExecutorQueue covers its reuse.
	first execLevel
}

// execLevel is the ring of the queued tasks of one priority.
type execLevel struct {
	prio int
	buf  []execTask // len is a power of two
	head int        // index in buf of the oldest entry
	n    int        // entries, tombstones included
	dead int        // tombstones among them
}

// execMaxLevels is how many rings the queue keeps before it drops empty ones.
const execMaxLevels = 8

func (q *execQueue) len() int { return q.n }

// push appends t to the ring of its priority, stamping it with the queue's
// clocks.
func (q *execQueue) push(t execTask) {
	l := q.level(t.prio)
	t.seq = q.seq
	q.seq++
	if l.n == len(l.buf) {
		l.grow()
	}
	l.buf[(l.head+l.n)&(len(l.buf)-1)] = t
	l.n++
	q.n++
	if t.fut != nil {
		c := t.fut.core()
		c.level = l
	}
}

// level returns the ring for prio, adding one if there is none.
func (q *execQueue) level(prio int) *execLevel {
	i := 0
	for ; i < len(q.levels); i++ {
		l := q.levels[i]
		if l.prio == prio {
			return l
		}
		if l.prio < prio {
			break
		}
	}
	if len(q.levels) >= execMaxLevels {
		// Drop the empty rings first; i moves with the ones kept.
		kept, at := q.levels[:0], i
		for j, l := range q.levels {
			if l.n == 0 {
				q.free = append(q.free, l)
				if j < at {
					i--
				}
				continue
			}
			kept = append(kept, l)
		}
		clear(q.levels[len(kept):])
		q.levels = kept
	}
	var l *execLevel
	if q.first.buf == nil && len(q.levels) == 0 && len(q.free) == 0 {
		l = &q.first
		l.prio = prio
	} else if k := len(q.free); k > 0 {
		l, q.free = q.free[k-1], q.free[:k-1]
		l.prio = prio
	} else {
		l = &execLevel{prio: prio}
	}
	q.levels = append(q.levels, nil)
	copy(q.levels[i+1:], q.levels[i:])
	q.levels[i] = l
	return l
}

// pop removes and returns the task to run next.
func (q *execQueue) pop() (execTask, bool) {
	if q.n == 0 {
		return execTask{}, false
	}
	var best *execLevel
	if len(q.levels) == 1 {
		best = q.levels[0]
	} else {
		var head *execTask
		for _, l := range q.levels {
			if l.n == 0 {
				continue
			}
			h := l.front()
			if h == nil {
				continue
			}
			if best == nil || q.before(h, head) {
				best, head = l, h
			}
		}
	}
	l := best
	l.front() // drops the tombstones before the head
	t := l.buf[l.head]
	l.buf[l.head] = execTask{}
	l.head = (l.head + 1) & (len(l.buf) - 1)
	l.n--
	q.n--
	return t, true
}

// before reports whether a leaves the queue before b: prio×aging − seq is
// larger, or equal and a is older. It computes in 128 bits, so that no
// priority overflows.
func (q *execQueue) before(a, b *execTask) bool {
	if a.prio == b.prio {
		return a.seq < b.seq
	}
	if a.prio < b.prio {
		return !q.before(b, a)
	}
	// a.prio > b.prio: a is first unless it came at least
	// (a.prio-b.prio)×aging pushes after b (at exactly that, a tie: the
	// older, b, is first).
	if a.seq < b.seq {
		return true
	}
	hi, lo := bits.Mul64(uint64(a.prio)-uint64(b.prio), max(q.aging, 1))
	return hi > 0 || lo > a.seq-b.seq
}

// front drops the tombstones at the head of l and returns its oldest live
// task, or nil when l holds none.
func (l *execLevel) front() *execTask {
	for l.n > 0 {
		t := &l.buf[l.head]
		if t.fut == nil || t.fut.core().state != futureDropped {
			return t
		}
		*t = execTask{}
		l.head = (l.head + 1) & (len(l.buf) - 1)
		l.n--
		l.dead--
	}
	return nil
}

// grow doubles l's ring, or gives it its first one.
func (l *execLevel) grow() {
	buf := make([]execTask, max(2*len(l.buf), 8))
	for i := range l.n {
		buf[i] = l.buf[(l.head+i)&(len(l.buf)-1)]
	}
	l.buf, l.head = buf, 0
}

// remove takes the queued future c out of the counts; the caller has set
// c.state to futureDropped, which makes its entry a tombstone.
func (q *execQueue) remove(c *futureCore) {
	l := c.level
	c.level = nil
	l.dead++
	q.n--
	if l.dead >= 8 && 2*l.dead > l.n {
		l.compact()
	}
}

// compact rewrites l's ring without its tombstones.
func (l *execLevel) compact() {
	mask := len(l.buf) - 1
	w := 0
	for i := range l.n {
		t := l.buf[(l.head+i)&mask]
		if t.fut != nil && t.fut.core().state == futureDropped {
			continue
		}
		l.buf[(l.head+w)&mask] = t
		w++
	}
	for i := w; i < l.n; i++ {
		l.buf[(l.head+i)&mask] = execTask{}
	}
	l.n, l.dead = w, 0
}

// drain removes every queued task and calls fn with each live one, in no
// particular order.
func (q *execQueue) drain(fn func(execTask)) {
	for _, l := range q.levels {
		mask := len(l.buf) - 1
		for i := range l.n {
			t := &l.buf[(l.head+i)&mask]
			if t.fut == nil || t.fut.core().state != futureDropped {
				fn(*t)
			}
			*t = execTask{}
		}
		l.head, l.n, l.dead = 0, 0, 0
	}
	q.n = 0
}
