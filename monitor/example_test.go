package monitor_test

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/weftgo/weft/monitor"
)

// Start a monitor, read its snapshot, and ask whether the process is
// overloaded, as a load-shedding middleware does for every request.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := monitor.Start(ctx, monitor.Window(10*time.Second), monitor.OverloadAt(50*time.Millisecond))
	defer m.Stop()

	s := m.Snapshot()
	fmt.Println("CPUs:", s.CPUs == runtime.GOMAXPROCS(0))
	fmt.Println("overloaded:", m.Overloaded())
	// Output:
	// CPUs: true
	// overloaded: false
}
