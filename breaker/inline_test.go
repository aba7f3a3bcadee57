package breaker_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClosedSuccessInlines guards what the Closed state's fast path relies
// on (compare row BreakerDo/consecutive and window): closedSuccess and the
// count window's lock-free add (for the window and for Stats.Succeeded)
// each fit the inlining budget, so that Do's deferred call makes no
// further call on success; and that Do fits it, so that an open breaker
// rejects inlined in the caller (compare row BreakerReject).
func TestClosedSuccessInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package with -gcflags=-m")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(gotool, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, want := range []string{
		"can inline (*Breaker).closedSuccess",
		"inlining call to (*countWindow).success",
		"inlining call to stripe.(*Counter).Add",
		// BreakerReject: an open breaker rejects inside the caller.
		"can inline (*Breaker).Do",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go build -gcflags=-m does not say %q", want)
		}
	}
}
