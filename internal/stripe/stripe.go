// Package stripe spreads the writes that goroutines running at once make to
// shared counters over several cache lines, so that they do not all contend
// for one. A goroutine's stripe is picked by hashing an address on its
// stack: goroutine stacks do not overlap, so goroutines running at once get
// well-spread stripes, and the pick costs a few instructions, much less than
// a random number.
package stripe

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Count returns the number of stripes to use on this machine: a power of
// two at least 4*GOMAXPROCS, so that goroutines running at once rarely share
// one, and at most 64.
func Count() int {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < 64 {
		n <<= 1
	}
	return n
}

// Index returns the calling goroutine's stripe among mask+1, a power of
// two. It stays the same for as long as the goroutine's stack is not moved.
func Index(mask uint32) int {
	var x byte
	p := uint64(uintptr(unsafe.Pointer(&x))) >> 11 // stacks are at least 2KB
	return int(uint32((p*0x9e3779b97f4a7c15)>>32) & mask)
}

// Counter is an int64 counter that many goroutines can add to at once
// without contending: Add writes the caller's stripe, and Load sums them.
// Create one with NewCounter.
type Counter struct {
	cells []cell
	mask  uint32
}

// cell is one stripe of a Counter: a cache line, plus the adjacent line the
// hardware prefetches with it.
type cell struct {
	n atomic.Int64
	_ [120]byte
}

// NewCounter returns a Counter at zero, with Count stripes.
func NewCounter() *Counter {
	n := Count()
	return &Counter{cells: make([]cell, n), mask: uint32(n - 1)}
}

// Add adds d to the counter.
func (c *Counter) Add(d int64) { c.cells[Index(c.mask)].n.Add(d) }

// Load returns the sum of the stripes. While Add is called concurrently, the
// stripes are read one after another, not at one instant.
func (c *Counter) Load() int64 {
	var sum int64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}
