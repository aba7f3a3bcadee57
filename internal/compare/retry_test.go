package compare

import (
	"context"
	"errors"
	"testing"
	"time"

	retrygo "github.com/avast/retry-go/v5"
	"github.com/cenkalti/backoff/v7"
	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	goretry "github.com/sethvargo/go-retry"

	"github.com/weftgo/weft/retry"
)

var errRetryBoom = errors.New("boom")

// retryImpl runs one call of a retry scenario: fn is tried until it returns
// nil, at most 4 times, with zero delay between tries. Each implementation is
// configured once, outside the measured loop, as its docs recommend for reuse.
type retryImpl struct {
	name string
	// setup returns the call to measure; fn is the function to retry.
	setup func(fn func(context.Context) error) func(context.Context) error
}

var retryImpls = []retryImpl{
	{"floor", func(fn func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			var err error
			for range 4 {
				if err = fn(ctx); err == nil {
					return nil
				}
			}
			return err
		}
	}},
	{"weft", func(fn func(context.Context) error) func(context.Context) error {
		p := retry.New(retry.Attempts(4), retry.Constant(0))
		return func(ctx context.Context) error { return p.Do(ctx, fn) }
	}},
	{"backoff", func(fn func(context.Context) error) func(context.Context) error {
		opts := []backoff.RetryOption{backoff.WithBackOff(&backoff.ZeroBackOff{}), backoff.WithMaxTries(4)}
		return func(ctx context.Context) error {
			_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, fn(ctx) }, opts...)
			return err
		}
	}},
	{"retrygo", func(fn func(context.Context) error) func(context.Context) error {
		r := retrygo.New(retrygo.Attempts(4), retrygo.Delay(0), retrygo.DelayType(retrygo.FixedDelay), retrygo.LastErrorOnly(true))
		return func(ctx context.Context) error { return r.Do(func() error { return fn(ctx) }) }
	}},
	{"goretry", func(fn func(context.Context) error) func(context.Context) error {
		zero := goretry.BackoffFunc(func() (time.Duration, bool) { return 0, false })
		return func(ctx context.Context) error {
			// A go-retry Backoff counts retries, so each call needs its own.
			return goretry.Do(ctx, goretry.WithMaxRetries(3, zero), func(ctx context.Context) error {
				if err := fn(ctx); err != nil {
					return goretry.RetryableError(err)
				}
				return nil
			})
		}
	}},
	{"failsafe", func(fn func(context.Context) error) func(context.Context) error {
		exec := failsafe.With[any](retrypolicy.NewBuilder[any]().WithMaxAttempts(4).Build())
		return func(ctx context.Context) error { return exec.Run(func() error { return fn(ctx) }) }
	}},
}

// retryScenarios are functions that succeed on the given try.
var retryScenarios = []struct {
	name  string
	tries int
}{
	{"FirstTry", 1},
	{"FourTriesZeroDelay", 4},
}

// succeedOn returns a function that fails until its tries-th call since the
// last reset, and the reset.
func succeedOn(tries int) (fn func(context.Context) error, calls *int) {
	n := new(int)
	return func(context.Context) error {
		if *n++; *n < tries {
			return errRetryBoom
		}
		return nil
	}, n
}

// BenchmarkRetryFirstTry measures a call whose first try succeeds, and
// BenchmarkRetryFourTriesZeroDelay one that succeeds on its fourth try with
// no delay between tries.
func BenchmarkRetryFirstTry(b *testing.B)           { benchRetry(b, 1) }
func BenchmarkRetryFourTriesZeroDelay(b *testing.B) { benchRetry(b, 4) }

func benchRetry(b *testing.B, tries int) {
	for _, impl := range retryImpls {
		b.Run(impl.name, func(b *testing.B) {
			fn, n := succeedOn(tries)
			call := impl.setup(fn)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				*n = 0
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRetryAgree checks that every implementation makes the same number of
// tries and succeeds in each scenario, and gives up after 4 tries when every
// try fails.
func TestRetryAgree(t *testing.T) {
	for _, sc := range append(retryScenarios, struct {
		name  string
		tries int
	}{"AllFail", 100}) {
		for _, impl := range retryImpls {
			fn, n := succeedOn(sc.tries)
			err := impl.setup(fn)(context.Background())
			want := min(sc.tries, 4)
			if *n != want {
				t.Errorf("%s/%s: %d tries, want %d", sc.name, impl.name, *n, want)
			}
			if (err == nil) != (sc.tries <= 4) {
				t.Errorf("%s/%s: err = %v", sc.name, impl.name, err)
			}
			if err != nil && !errors.Is(err, errRetryBoom) {
				t.Errorf("%s/%s: err = %v, want errors.Is boom", sc.name, impl.name, err)
			}
		}
	}
}
