package group_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weftgo/weft/group"
)

// An Executor runs background jobs for the life of a service: submit from
// anywhere, shut down once.
func ExampleExecutor() {
	ex := group.NewExecutor(context.Background(), group.Limit(4), group.Queue(100))

	var mu sync.Mutex
	total := 0
	for i := 1; i <= 10; i++ {
		err := ex.Submit(context.Background(), func(ctx context.Context) error {
			mu.Lock()
			total += i
			mu.Unlock()
			return nil
		})
		if err != nil {
			fmt.Println(err)
		}
	}

	// Stop accepting, run what is queued, wait for everything.
	if err := ex.Shutdown(context.Background()); err != nil {
		fmt.Println(err)
	}
	st := ex.Stats()
	fmt.Println("total:", total)
	fmt.Println("completed:", st.Completed, "workers left:", st.Workers)
	// Output:
	// total: 55
	// completed: 10 workers left: 0
}

// SubmitFunc returns a Future for a task's value.
func ExampleSubmitFunc() {
	ex := group.NewExecutor(context.Background(), group.Limit(2))
	defer ex.Shutdown(context.Background())

	f, err := group.SubmitFunc(context.Background(), ex, func(ctx context.Context) (string, error) {
		return "hello from a worker", nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := f.Wait(context.Background())
	fmt.Println(v, err)
	// Output: hello from a worker <nil>
}

// TrySubmit sheds load: when every worker is busy and the queue is full it
// returns ErrFull at once, so a handler can answer 429 instead of waiting.
func ExampleExecutor_TrySubmit() {
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(1))
	release := make(chan struct{})
	job := func(ctx context.Context) error { <-release; return nil }

	fmt.Println(ex.TrySubmit(job)) // runs
	fmt.Println(ex.TrySubmit(job)) // queued
	err := ex.TrySubmit(job)       // no room
	fmt.Println(err, errors.Is(err, group.ErrFull))

	close(release)
	_ = ex.Shutdown(context.Background())
	fmt.Println(ex.TrySubmit(job))
	// Output:
	// <nil>
	// <nil>
	// group: executor queue is full true
	// group: executor is shut down
}

// Queued tasks start highest priority first, in the order they came within
// a priority.
func ExampleWithPriority() {
	ex := group.NewExecutor(context.Background(), group.Limit(1))
	release := make(chan struct{})
	_ = ex.Submit(context.Background(), func(ctx context.Context) error { <-release; return nil })

	var order []string
	for _, job := range []struct {
		name string
		prio int
	}{{"report", 0}, {"login", 10}, {"cleanup", -5}, {"checkout", 10}, {"email", 0}} {
		ctx := group.WithPriority(context.Background(), job.prio)
		_ = ex.Submit(ctx, func(ctx context.Context) error {
			order = append(order, job.name) // one worker: no lock needed
			return nil
		})
	}
	close(release)
	_ = ex.Shutdown(context.Background())
	fmt.Println(order)
	// Output: [login checkout report email cleanup]
}

// Run blocking work in an executor: CPU-heavy or blocking calls go to an
// Executor sized for them, and each request waits for its Future with its
// own deadline. The requests stay responsive (a request past its deadline
// answers at once), while the work never occupies more than Limit threads,
// however many requests arrive.
func ExampleExecutor_blocking() {
	// Sized for the work: two blocking calls at a time, a short backlog.
	blocking := group.NewExecutor(context.Background(), group.Limit(2), group.Queue(16))
	defer blocking.Shutdown(context.Background())

	slowCall := func(ctx context.Context, n int) (int, error) {
		select { // stands for cgo, a file system call, image decoding...
		case <-time.After(time.Duration(n) * 10 * time.Millisecond):
			return n * n, nil
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
	}

	// A request handler: hand the call over, wait within the deadline.
	handle := func(deadline time.Duration, n int) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		f, err := group.SubmitFunc(ctx, blocking, func(ctx context.Context) (int, error) {
			return slowCall(ctx, n)
		})
		if err != nil {
			return 0, err // no room within the deadline, or shutting down
		}
		v, err := f.Wait(ctx)
		if err != nil {
			f.Cancel() // nobody waits for it any more
		}
		return v, err
	}

	fmt.Println(handle(time.Second, 3))
	_, err := handle(5*time.Millisecond, 50)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// 9 <nil>
	// true
}

// Shutdown drains within a deadline: past it, running tasks are cancelled,
// queued ones are dropped and counted, and Shutdown still waits for the
// running ones to return.
func ExampleExecutor_Shutdown() {
	ex := group.NewExecutor(context.Background(), group.Limit(1), group.Queue(10))
	for range 4 {
		_ = ex.Submit(context.Background(), func(ctx context.Context) error {
			<-ctx.Done() // a task that runs until told to stop
			return context.Cause(ctx)
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := ex.Shutdown(ctx)
	fmt.Println(err)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), ex.Stats().Dropped)
	// Output:
	// group: Shutdown: 3 accepted tasks never ran: context deadline exceeded
	// true 3
}

// Cancel removes a queued task at once; its Future says why.
func ExampleFuture_Cancel() {
	ex := group.NewExecutor(context.Background(), group.Limit(1))
	release := make(chan struct{})
	_ = ex.Submit(context.Background(), func(ctx context.Context) error { <-release; return nil })

	f, _ := group.SubmitFunc(context.Background(), ex, func(ctx context.Context) (int, error) { return 1, nil })
	f.Cancel()
	_, err := f.Wait(context.Background())
	fmt.Println(errors.Is(err, context.Canceled), ex.Stats().Queued)

	close(release)
	_ = ex.Shutdown(context.Background())
	// Output: true 0
}

// SetLimit resizes a running Executor: raising the limit starts queued
// tasks at once.
func ExampleExecutor_SetLimit() {
	ex := group.NewExecutor(context.Background(), group.Limit(1))
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	for range 3 {
		_ = ex.Submit(context.Background(), func(ctx context.Context) error {
			started <- struct{}{}
			<-release
			return nil
		})
	}
	<-started
	fmt.Println("running:", ex.Stats().Running, "queued:", ex.Stats().Queued)

	ex.SetLimit(3)
	<-started
	<-started
	fmt.Println("running:", ex.Stats().Running, "queued:", ex.Stats().Queued)

	close(release)
	_ = ex.Shutdown(context.Background())
	// Output:
	// running: 1 queued: 2
	// running: 3 queued: 0
}
