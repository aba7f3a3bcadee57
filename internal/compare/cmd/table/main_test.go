package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `goos: linux
cpu: Some CPU
BenchmarkGroupGoWait/n=10/floor-2         	  1000	      2000 ns/op	     160 B/op	      10 allocs/op
BenchmarkGroupGoWait/n=10/weft-2          	  1000	      1000 ns/op	     160 B/op	       1 allocs/op
BenchmarkGroupGoWait/n=10/weft-2          	  1000	      3000 ns/op	     160 B/op	       1 allocs/op
BenchmarkGroupGoWait/n=10/weft-2          	  1000	      1500 ns/op	     160 B/op	       1 allocs/op
BenchmarkGroupGoWait/n=10/errgroup-2      	  1000	      4500 ns/op	     160 B/op	      12 allocs/op
BenchmarkRateAllow/floor                  	  1000	        10 ns/op
PASS
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"cpu: Some CPU",
		"GroupGoWait/n=10 (P=2)",
		"1.33x", // floor 2000 / weft median 1500
		"3.00x", // errgroup 4500 / 1500
		"RateAllow",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if err := run(strings.NewReader("PASS\n"), &out); err == nil {
		t.Error("no benchmarks: want an error")
	}
}
