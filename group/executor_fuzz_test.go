package group

import (
	"math"
	"math/big"
	"testing"
)

// fakeFuture is a queued Future for the queue's tests.
type fakeFuture struct {
	c  futureCore
	id int
}

func (f *fakeFuture) core() *futureCore      { return &f.c }
func (f *fakeFuture) call(*execWorker) error { return nil }

// modelTask is a task in the reference model of execQueue.
type modelTask struct {
	id, prio int
	seq      uint64
	fut      *fakeFuture // nil: cannot be cancelled
}

// queueModel is the obvious, slow execQueue: a list scanned on every pop.
type queueModel struct {
	tasks  []modelTask
	seq    uint64
	aging  uint64
	nextID int
}

// key is the order of t: tasks leave in decreasing prio×aging − seq.
func (m *queueModel) key(t modelTask) *big.Int {
	k := new(big.Int).Mul(big.NewInt(int64(t.prio)), new(big.Int).SetUint64(m.aging))
	return k.Sub(k, new(big.Int).SetUint64(t.seq))
}

func (m *queueModel) pop() (int, bool) {
	best := -1
	for i, t := range m.tasks {
		if best < 0 {
			best = i
			continue
		}
		b := m.tasks[best]
		if c := m.key(t).Cmp(m.key(b)); c > 0 || (c == 0 && t.seq < b.seq) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	id := m.tasks[best].id
	m.tasks = append(m.tasks[:best], m.tasks[best+1:]...)
	return id, true
}

// FuzzExecutorQueue drives execQueue and the model with the same pushes,
// pops and cancellations, and checks that they pop the same tasks.
func FuzzExecutorQueue(f *testing.F) {
	f.Add([]byte{1, 0, 2, 0, 3, 0, 1, 0, 0, 0, 0}, uint8(1))
	f.Add([]byte{4, 5, 4, 200, 4, 100, 2, 2, 0, 0, 0, 5, 0}, uint8(3))
	f.Add([]byte("00000000000000000000000001a00000000000000000000000000000001000000000000000000101A1\x841\xc301\xac2\xeb1\xff00001\x80"), uint8(' '))
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, aging uint8) {
		k := uint64(aging%8) + 1
		q := execQueue{aging: k}
		m := queueModel{aging: k}
		byID := map[*fakeFuture]int{}
		fnIDs := map[uint64]int{} // the queue's seq of a plain task -> its model id
		for i := 0; i < len(ops); i++ {
			op := ops[i]
			arg := byte(0)
			if i+1 < len(ops) {
				arg = ops[i+1]
			}
			switch op % 4 {
			case 0: // pop
				want, wok := m.pop()
				got, gok := q.pop()
				if gok != wok {
					t.Fatalf("op %d: pop ok = %v, want %v", i, gok, wok)
				}
				if !gok {
					continue
				}
				id := fnIDs[got.seq]
				if got.fut != nil {
					id = byID[got.fut.(*fakeFuture)]
					got.fut.core().state = futureRunning
				}
				if id != want {
					t.Fatalf("op %d: popped %d, want %d", i, id, want)
				}
			case 1, 2: // push a task, a future when op is 2
				i++
				prio := int(int8(arg)) / 32 // a few priorities
				switch arg {
				case 255:
					prio = math.MaxInt
				case 254:
					prio = math.MinInt
				}
				id := m.nextID
				m.nextID++
				mt := modelTask{id: id, prio: prio, seq: m.seq}
				m.seq++
				task := execTask{prio: prio}
				if op%4 == 2 {
					ff := &fakeFuture{id: id}
					ff.c.state = futureQueued
					byID[ff] = id
					mt.fut = ff
					task.fut = ff
				} else {
					fnIDs[q.seq] = id
				}
				m.tasks = append(m.tasks, mt)
				q.push(task)
			case 3: // cancel a queued future
				i++
				var live []*fakeFuture
				for _, mt := range m.tasks {
					if mt.fut != nil {
						live = append(live, mt.fut)
					}
				}
				if len(live) == 0 {
					continue
				}
				ff := live[int(arg)%len(live)]
				ff.c.state = futureDropped
				q.remove(&ff.c)
				for j, mt := range m.tasks {
					if mt.fut == ff {
						m.tasks = append(m.tasks[:j], m.tasks[j+1:]...)
						break
					}
				}
			}
			if q.len() != len(m.tasks) {
				t.Fatalf("op %d: len = %d, want %d", i, q.len(), len(m.tasks))
			}
		}
		// Drain: the rest comes out in the model's order too.
		for {
			want, wok := m.pop()
			got, gok := q.pop()
			if gok != wok {
				t.Fatalf("drain: pop ok = %v, want %v", gok, wok)
			}
			if !gok {
				break
			}
			id := fnIDs[got.seq]
			if got.fut != nil {
				id = byID[got.fut.(*fakeFuture)]
			}
			if id != want {
				t.Fatalf("drain: popped %d, want %d", id, want)
			}
		}
	})
}
