package group_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgo/weft/group"
)

func ExampleMap() {
	words := []string{"structured", "concurrency", "in", "go"}
	lengths, err := group.Map(context.Background(), words, func(ctx context.Context, w string) (int, error) {
		return len(w), nil
	}, group.Limit(2))
	fmt.Println(lengths, err)
	// Output: [10 11 2 2] <nil>
}

func ExampleMap_error() {
	_, err := group.Map(context.Background(), []string{"1", "2", "x", "4"}, func(ctx context.Context, s string) (int, error) {
		var n int
		_, err := fmt.Sscan(s, &n)
		return n, err
	})
	fmt.Println(err)
	// Output: group: item 2: expected integer
}

func ExampleForEach() {
	urls := []string{"a.example", "b.example", "c.example"}
	err := group.ForEach(context.Background(), urls, func(ctx context.Context, u string) error {
		if strings.HasPrefix(u, "b") {
			return errors.New("unreachable")
		}
		return nil
	}, group.KeepGoing())
	fmt.Println(err)
	// Output: group: item 1: unreachable
}

func ExampleSettle() {
	results := group.Settle(context.Background(), []int{4, 0, 2}, func(ctx context.Context, d int) (int, error) {
		if d == 0 {
			return 0, errors.New("division by zero")
		}
		return 12 / d, nil
	})
	for _, r := range results {
		fmt.Println(r.Value, r.Err)
	}
	// Output:
	// 3 <nil>
	// 0 division by zero
	// 6 <nil>
}

func ExampleFirst() {
	mirror := func(name string, delay time.Duration) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			select {
			case <-time.After(delay):
				return name, nil
			case <-ctx.Done(): // the losers are cancelled, and First waits for them
				return "", ctx.Err()
			}
		}
	}
	v, err := group.First(context.Background(), mirror("slow", time.Minute), mirror("fast", time.Millisecond))
	fmt.Println(v, err)
	// Output: fast <nil>
}

func ExampleMapSeq() {
	lines := slices.Values([]string{"alpha", "beta", "gamma", "delta"})
	for n, err := range group.MapSeq(context.Background(), lines, func(ctx context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	}, group.Limit(2)) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(n)
	}
	// Output:
	// ALPHA
	// BETA
	// GAMMA
	// DELTA
}

// ExampleMapSeq2 chains three stages: each is a sequence that ranges over
// the one before it, with no code between them. Every stage runs on its own
// workers and keeps the input order; an error from any stage reaches the
// loop with the index of its item, and ends every stage.
func ExampleMapSeq2() {
	ctx := context.Background()
	words := slices.Values([]string{"go", "rust", "zig", "haskell", "c"})
	lengths := group.MapSeq(ctx, words, func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	}, group.Limit(2))
	squares := group.MapSeq2(ctx, lengths, func(ctx context.Context, n int) (int, error) {
		return n * n, nil
	}, group.Limit(2))
	labels := group.MapSeq2(ctx, squares, func(ctx context.Context, n int) (string, error) {
		if n > 20 {
			return "", fmt.Errorf("%d is too large", n)
		}
		return fmt.Sprint("#", n), nil
	}, group.Limit(2))
	for label, err := range labels {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(label)
	}
	// Output:
	// #4
	// #16
	// #9
	// group: item 3: 49 is too large
}
