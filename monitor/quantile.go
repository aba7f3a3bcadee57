package monitor

import "math"

// quantile returns the q-quantile (0 <= q <= 1) of a histogram with
// len(buckets)-1 buckets, bucket i holding counts[i] values in
// [buckets[i], buckets[i+1]), as runtime/metrics.Float64Histogram defines
// them. The value is interpolated linearly within the bucket where the
// cumulative count reaches q·total; a bucket whose lower bound is -Inf yields
// its upper bound, one whose upper bound is +Inf yields its lower bound (an
// infinite value is never returned, unless both bounds are infinite, which
// yields 0). An empty histogram yields 0.
func quantile(buckets []float64, counts []uint64, q float64) float64 {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum uint64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if float64(cum+c) < rank && cum+c < total {
			cum += c
			continue
		}
		lo, hi := buckets[i], buckets[i+1]
		switch {
		case math.IsInf(lo, -1) && math.IsInf(hi, 1):
			return 0
		case math.IsInf(lo, -1):
			return hi
		case math.IsInf(hi, 1):
			return lo
		}
		f := (rank - float64(cum)) / float64(c)
		return lo + (hi-lo)*min(max(f, 0), 1)
	}
	return 0 // unreachable: the loop returns at the last non-empty bucket
}

// maxValue returns the upper bound of the highest non-empty bucket (its lower
// bound if that is +Inf; 0 for a -Inf lower bucket or an empty histogram): no
// value in the histogram is above it, and the largest one is within the
// width of that bucket below it.
func maxValue(buckets []float64, counts []uint64) float64 {
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] == 0 {
			continue
		}
		if hi := buckets[i+1]; !math.IsInf(hi, 1) {
			return max(hi, 0)
		}
		if lo := buckets[i]; !math.IsInf(lo, -1) {
			return lo
		}
		return 0
	}
	return 0
}

// sub stores a - b into dst, bucket by bucket, for cumulative histograms
// read at two times (a later). A bucket that went down (which a cumulative
// histogram never does) counts as 0.
func sub(dst, a, b []uint64) {
	for i := range dst {
		if a[i] >= b[i] {
			dst[i] = a[i] - b[i]
		} else {
			dst[i] = 0
		}
	}
}
