// Command table reads `go test -bench -benchmem` output on standard input and
// prints, for each scenario, how weft compares with every other
// implementation measured in the same run.
//
// Benchmarks must be named <Scenario>/<impl>, the last path element naming
// the implementation (weft, floor, or a peer). Repeated runs of a benchmark
// (-count) are reduced to their median.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// result is the median figures of one implementation in one scenario.
type result struct {
	ns, allocs []float64
}

// benchLine matches "BenchmarkX/y/impl-8   1000   123 ns/op ...".
var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-(\d+))?\s+\d+\s+(.*)$`)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	var (
		order    []string                // scenarios in order of first appearance
		impls    = map[string][]string{} // scenario -> impls in order
		results  = map[string]map[string]*result{}
		preamble []string
		sawBench bool
	)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			if !sawBench && (strings.HasPrefix(line, "goos:") || strings.HasPrefix(line, "goarch:") || strings.HasPrefix(line, "cpu:")) {
				preamble = append(preamble, line)
			}
			continue
		}
		sawBench = true
		name, procs, fields := m[1], m[2], strings.Fields(m[3])
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			continue // not a paired benchmark
		}
		scenario, impl := name[:i], name[i+1:]
		if procs != "" {
			scenario += " (P=" + procs + ")"
		}
		if results[scenario] == nil {
			results[scenario] = map[string]*result{}
			order = append(order, scenario)
		}
		r := results[scenario][impl]
		if r == nil {
			r = &result{}
			results[scenario][impl] = r
			impls[scenario] = append(impls[scenario], impl)
		}
		for j := 0; j+1 < len(fields); j += 2 {
			v, err := strconv.ParseFloat(fields[j], 64)
			if err != nil {
				continue
			}
			switch fields[j+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(order) == 0 {
		return fmt.Errorf("no paired benchmarks (Benchmark<Scenario>/<impl>) in the input")
	}

	for _, l := range preamble {
		fmt.Fprintln(out, l)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tvs\tweft ns/op\tother ns/op\tother/weft\tweft allocs\tother allocs\t")
	for _, s := range order {
		weft := results[s]["weft"]
		for _, impl := range impls[s] {
			if impl == "weft" {
				continue
			}
			other := results[s][impl]
			ratio := "-"
			if weft != nil && median(weft.ns) > 0 {
				ratio = fmt.Sprintf("%.2fx", median(other.ns)/median(weft.ns))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s, impl,
				fmtNum(weft, func(r *result) []float64 { return r.ns }),
				fmtNum(other, func(r *result) []float64 { return r.ns }),
				ratio,
				fmtNum(weft, func(r *result) []float64 { return r.allocs }),
				fmtNum(other, func(r *result) []float64 { return r.allocs }))
		}
		if len(impls[s]) == 1 && weft != nil {
			fmt.Fprintf(tw, "%s\t-\t%s\t-\t-\t%s\t-\t\n", s,
				fmtNum(weft, func(r *result) []float64 { return r.ns }),
				fmtNum(weft, func(r *result) []float64 { return r.allocs }))
		}
	}
	return tw.Flush()
}

func fmtNum(r *result, field func(*result) []float64) string {
	if r == nil || len(field(r)) == 0 {
		return "-"
	}
	v := median(field(r))
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
