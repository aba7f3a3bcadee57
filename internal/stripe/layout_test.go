package stripe

import (
	"testing"
	"unsafe"
)

// TestCellLayout guards what striping relies on: each cell fills two cache
// lines (the one written and the one the hardware prefetches with it), so
// that goroutines on different stripes never write the same line.
func TestCellLayout(t *testing.T) {
	if got := unsafe.Sizeof(cell{}); got != 128 {
		t.Errorf("a cell is %d bytes, want 128", got)
	}
	c := NewCounter()
	if got := uintptr(unsafe.Pointer(&c.cells[1])) - uintptr(unsafe.Pointer(&c.cells[0])); got != 128 {
		t.Errorf("cells are %d bytes apart, want 128", got)
	}
}
