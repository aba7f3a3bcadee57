package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weftgo/weft/limiter"
)

// Decide gives what a server reports to a client it limits: how many
// events are left, and when to come back after a refusal.
func ExampleRate_Decide() {
	r := limiter.NewRate(1, 2) // one event a second, bursts of two
	for range 3 {
		d := r.Decide()
		fmt.Printf("allowed=%v remaining=%d/%d retry within 1s=%v\n",
			d.Allowed, d.Remaining, d.Limit, d.RetryAfter > 0 && d.RetryAfter <= time.Second)
	}
	// Output:
	// allowed=true remaining=1/2 retry within 1s=false
	// allowed=true remaining=0/2 retry within 1s=false
	// allowed=false remaining=0/2 retry within 1s=true
}

// Acquire holds a bulkhead's slot across code that is not one function call,
// such as middleware around a handler; *Bulkhead and *Adaptive share it.
func ExampleBulkhead_Acquire() {
	b := limiter.NewBulkhead(1, 0) // one at a time, no queue
	var concurrency interface {
		Acquire(context.Context) (func(error), error)
	} = b

	done, err := concurrency.Acquire(context.Background())
	fmt.Println("first:", err)
	_, err = concurrency.Acquire(context.Background())
	fmt.Println("second:", errors.Is(err, limiter.ErrFull))
	done(nil)
	done, err = concurrency.Acquire(context.Background())
	fmt.Println("after done:", err)
	done(nil)
	// Output:
	// first: <nil>
	// second: true
	// after done: <nil>
}
