// Package compare benchmarks weft against the packages people use today.
//
// Benchmarks are named Benchmark<Area><Scenario>[/<case>]/<impl>, where impl
// is weft, floor (the bare-primitive lower bound) or the peer's short name.
// Each scenario also has a Test checking that weft and the peers compute the
// same thing. Run `make compare` from the repository root for a table of
// ratios from one run.
package compare
