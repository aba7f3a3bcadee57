package compare

// The peers measured in this module. Importing them here keeps every one in
// go.mod and go.sum, so each area's file can be added on its own.
import (
	_ "github.com/avast/retry-go/v5"
	_ "github.com/cenkalti/backoff/v7"
	_ "github.com/eapache/go-resiliency/breaker"
	_ "github.com/failsafe-go/failsafe-go"
	_ "github.com/sethvargo/go-retry"
	_ "github.com/sony/gobreaker/v2"
	_ "github.com/sourcegraph/conc"
	_ "go.uber.org/ratelimit"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/time/rate"
)
