package redisrate_test

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/weftgo/weft/limiter/redisrate"
)

// exampleClient connects to the Redis at redisURL (yours would be, say,
// "redis://localhost:6379"). The per-call Timeout needs
// ContextTimeoutEnabled.
func exampleClient() *goredis.Client {
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		panic(err)
	}
	opts.ContextTimeoutEnabled = true
	return goredis.NewClient(opts)
}

// Every replica that creates this Rate shares one limit: here, one event per
// minute with bursts of 3.
func ExampleRate() {
	ctx := context.Background()
	client := exampleClient()
	defer client.Close()
	client.Del(ctx, "example:reports") // start with a full bucket

	r := redisrate.NewRate(client, "example:reports", 1.0/60, 3)
	for range 4 {
		ok, err := r.Allow(ctx)
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// true <nil>
	// true <nil>
	// false <nil>
}

// A Keyed limiter gives each user their own limit, shared across replicas.
func ExampleKeyed() {
	ctx := context.Background()
	client := exampleClient()
	defer client.Close()
	client.Del(ctx, "example:user:alice", "example:user:bob")

	perUser := redisrate.NewKeyed(client, "example:user:", 1.0/60, 2)
	for _, user := range []string{"alice", "alice", "alice", "bob"} {
		ok, err := perUser.Allow(ctx, user)
		fmt.Println(user, ok, err)
	}
	// Output:
	// alice true <nil>
	// alice true <nil>
	// alice false <nil>
	// bob true <nil>
}

// With Lease, a Rate takes up to n tokens per round trip and spends them
// locally.
func ExampleLease() {
	ctx := context.Background()
	client := exampleClient()
	defer client.Close()
	client.Del(ctx, "example:leased")

	// The 100 tokens of the burst come in 5 round trips of 20; once they
	// are spent, each call asks Redis again.
	r := redisrate.NewRate(client, "example:leased", 1.0/60, 100, redisrate.Lease(20))
	admitted := 0
	for range 150 {
		if ok, _ := r.Allow(ctx); ok {
			admitted++
		}
	}
	fmt.Println(admitted, "admitted")
	// Output:
	// 100 admitted
}

// When Redis is unreachable, FailOpen admits and reports the failure.
func ExampleFailOpen() {
	client := goredis.NewClient(&goredis.Options{
		Network: "unix", Addr: "/nonexistent/redis.sock", ContextTimeoutEnabled: true,
	})
	defer client.Close()

	r := redisrate.NewRate(client, "example:open", 100, 10, redisrate.FailOpen(),
		redisrate.OnError(func(err error) { fmt.Println("reported:", errors.Is(err, redisrate.ErrUnavailable)) }))
	ok, err := r.Allow(context.Background())
	fmt.Println(ok, err)
	// Output:
	// reported: true
	// true <nil>
}
