package report

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Summary is a cell's values over seeds.
type Summary struct {
	N      int
	Mean   float64
	Std    float64 // sample standard deviation (n-1); 0 when N < 2
	Min    float64
	Max    float64
	Values []float64 // in seed order
}

// Summarize returns the mean, sample standard deviation and range of vs.
func Summarize(vs []float64) Summary {
	s := Summary{N: len(vs), Values: append([]float64(nil), vs...)}
	if s.N == 0 {
		return s
	}
	s.Min, s.Max = vs[0], vs[0]
	var sum float64
	for _, v := range vs {
		sum += v
		s.Min = math.Min(s.Min, v)
		s.Max = math.Max(s.Max, v)
	}
	s.Mean = sum / float64(s.N)
	if s.N > 1 {
		var ss float64
		for _, v := range vs {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(s.N-1))
	}
	return s
}

// Interval methods.
const (
	MethodPaired    = "paired-t"     // both sides ran the same >= 2 seeds: a t-interval of the per-seed differences
	MethodWelch     = "welch-t"      // both sides have >= 2 seeds
	MethodOneSample = "one-sample-t" // one side is a single value, the other has >= MinOneSample seeds
	MethodNone      = "n/a"          // too few values for either
	// MethodNotEstimable: enough seeds, but the seeds that carry the
	// interval do not vary (every seed gave the same error), so seed noise
	// cannot be estimated from them: never a zero-width "significant"
	// interval.
	MethodNotEstimable = "not estimable"
)

// MinOneSample is the fewest seeds a side needs for a t-interval against a
// single value: with two, one degree of freedom rests on one difference.
const MinOneSample = 3

// Interval is a confidence interval for the difference of means
// (candidate - baseline).
type Interval struct {
	Method string
	Level  float64 // e.g. 0.95
	Lo, Hi float64
	DF     float64 // Welch-Satterthwaite degrees of freedom (welch-t only)
	// P is the two-sided p-value of "no difference": Welch's t test, or
	// for the bootstrap twice the smaller tail of the resampled
	// differences (at least 1/bootstrapResamples); NaN without a test.
	P float64
}

// Excludes0 reports whether the interval is significant: it lies entirely
// on one side of zero.
func (iv Interval) Excludes0() bool {
	return iv.Estimable() && (iv.Lo > 0 || iv.Hi < 0)
}

// Estimable reports whether the interval was computed: enough seeds, and
// seeds that vary.
func (iv Interval) Estimable() bool {
	return iv.Method != MethodNone && iv.Method != MethodNotEstimable
}

// DiffInterval returns a confidence interval at level for cand.Mean -
// base.Mean, over seeds:
//   - both sides have >= 2 seeds: Welch's t-interval (unequal variances,
//     Welch-Satterthwaite degrees of freedom). When neither side varies the
//     interval is the difference itself.
//   - one side is a single value (the paper's number, or one run) and the
//     other has >= MinOneSample seeds: a one-sample t-interval of that side's mean
//     (n-1 degrees of freedom), the single value held fixed. It measures
//     seed noise on one side only. (It was a percentile bootstrap over the
//     seeds, whose three values give ten distinct resampled means: three
//     seeds on one side of the value made p = 1e-4, which any correction
//     kept, where the t-test gives 0.03.)
//   - otherwise: MethodNone ("n/a"), as the paper, which reports one run per
//     cell, gives no interval.
//
// Where the seeds the interval rests on do not vary at all (both sides for
// Welch, the resampled side for the bootstrap), the method is
// MethodNotEstimable: a spread of zero over a few seeds says nothing about
// seed noise, and a zero-width interval would call any difference
// significant.
func DiffInterval(base, cand Summary, level float64) Interval {
	d := cand.Mean - base.Mean
	iv := Interval{Method: MethodNone, Level: level, Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	switch {
	case base.N >= 2 && cand.N >= 2:
		vb := base.Std * base.Std / float64(base.N)
		vc := cand.Std * cand.Std / float64(cand.N)
		se := math.Sqrt(vb + vc)
		if se == 0 {
			iv.Method = MethodNotEstimable
			return iv
		}
		iv.Method = MethodWelch
		iv.DF = (vb + vc) * (vb + vc) / (vb*vb/float64(base.N-1) + vc*vc/float64(cand.N-1))
		dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: iv.DF}
		t := dist.Quantile(1 - (1-level)/2)
		iv.Lo, iv.Hi = d-t*se, d+t*se
		iv.P = 2 * dist.Survival(math.Abs(d)/se)
	case base.N == 1 && cand.N >= MinOneSample:
		iv = oneSample(cand, base.Mean, level)
	case cand.N == 1 && base.N >= MinOneSample:
		iv = oneSample(base, cand.Mean, level)
		iv.Lo, iv.Hi = -iv.Hi, -iv.Lo // of cand - base
	}
	return iv
}

// oneSample is the t-interval at level of s.Mean - at, and the two-sided
// p-value of "s's mean is at".
func oneSample(s Summary, at, level float64) Interval {
	iv := Interval{Method: MethodNotEstimable, Level: level, Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	se := s.Std / math.Sqrt(float64(s.N))
	if se == 0 {
		return iv
	}
	iv.Method, iv.DF = MethodOneSample, float64(s.N-1)
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: iv.DF}
	t := dist.Quantile(1 - (1-level)/2)
	d := s.Mean - at
	iv.Lo, iv.Hi = d-t*se, d+t*se
	iv.P = 2 * dist.Survival(math.Abs(d)/se)
	return iv
}

// Holm adjusts p-values for testing them all (Holm 1979, step-down): the
// i-th smallest of m is multiplied by m-i+1 (i from 1), and the adjusted
// values are made non-decreasing in that order. NaN entries (no test) are
// left NaN and do not count in m.
func Holm(ps []float64) []float64 {
	out := make([]float64, len(ps))
	var idx []int
	for i, p := range ps {
		out[i] = math.NaN()
		if !math.IsNaN(p) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	m, run := len(idx), 0.0
	for k, i := range idx {
		run = math.Max(run, math.Min(1, float64(m-k)*ps[i]))
		out[i] = run
	}
	return out
}

// McNemar is the exact McNemar test of two classifiers scored on the same
// examples: onlyA examples only the first got right, onlyB only the
// second, and the two-sided p-value of "they err equally often", from the
// binomial distribution of the discordant examples (half each way under
// the null). Examples both got right or both got wrong do not count.
func McNemar(predA, predB, labels []int) (onlyA, onlyB int, p float64) {
	for i, y := range labels {
		a, b := predA[i] == y, predB[i] == y
		switch {
		case a && !b:
			onlyA++
		case b && !a:
			onlyB++
		}
	}
	n := onlyA + onlyB
	if n == 0 {
		return 0, 0, 1
	}
	k := min(onlyA, onlyB)
	return onlyA, onlyB, math.Min(1, 2*distuv.Binomial{N: float64(n), P: 0.5}.CDF(float64(k)))
}

// PairedInterval is the t-interval at level of the mean of per-seed
// differences cand[i] - base[i] (the same seeds on both sides, in one
// order), n-1 degrees of freedom: seeds that share their data splits and
// pretrained LM make the two sides' errors move together, which an
// unpaired interval ignores. Differences that do not vary are
// MethodNotEstimable.
func PairedInterval(base, cand []float64, level float64) Interval {
	iv := Interval{Method: MethodNone, Level: level, Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	n := len(base)
	if n < 2 || len(cand) != n {
		return iv
	}
	diffs := make([]float64, n)
	for i := range base {
		diffs[i] = cand[i] - base[i]
	}
	s := Summarize(diffs)
	if s.Std == 0 {
		iv.Method = MethodNotEstimable
		return iv
	}
	se := s.Std / math.Sqrt(float64(n))
	iv.Method, iv.DF = MethodPaired, float64(n-1)
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: iv.DF}
	t := dist.Quantile(1 - (1-level)/2)
	iv.Lo, iv.Hi = s.Mean-t*se, s.Mean+t*se
	iv.P = 2 * dist.Survival(math.Abs(s.Mean)/se)
	return iv
}

// MeanInterval is the t-interval at level of a cell's mean over its seeds
// (n-1 degrees of freedom): MethodNone with fewer than two seeds,
// MethodNotEstimable when they do not vary.
func MeanInterval(s Summary, level float64) Interval {
	iv := Interval{Method: MethodNone, Level: level, Lo: math.NaN(), Hi: math.NaN(), P: math.NaN()}
	switch {
	case s.N < 2:
		return iv
	case s.Std == 0:
		iv.Method = MethodNotEstimable
		return iv
	}
	iv.Method, iv.DF = "t", float64(s.N-1)
	half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: iv.DF}.Quantile(1-(1-level)/2) * s.Std / math.Sqrt(float64(s.N))
	iv.Lo, iv.Hi = s.Mean-half, s.Mean+half
	return iv
}

// ExampleBootstrap is the percentile interval at level of the difference
// in error (%) between two classifiers scored on the same examples (b's
// minus a's), over bootstrapResamples resamples of the examples, from a
// generator seeded with a constant: the test set's own sampling noise,
// which seeds do not show.
func ExampleBootstrap(predA, predB, labels []int, level float64) (lo, hi float64) {
	n := len(labels)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	// Only the examples the two disagree on in correctness move the
	// difference: +1 where only a is right, -1 where only b is.
	d := make([]int8, n)
	for i, y := range labels {
		a, b := predA[i] == y, predB[i] == y
		switch {
		case a && !b:
			d[i] = 1
		case b && !a:
			d[i] = -1
		}
	}
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	diffs := make([]float64, bootstrapResamples)
	for r := range diffs {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[rng.IntN(n)])
		}
		diffs[r] = 100 * float64(sum) / float64(n)
	}
	sort.Float64s(diffs)
	return percentiles(diffs, level)
}

// bootstrapResamples is the number of bootstrap resamples of
// ExampleBootstrap. The generator is seeded with a constant, so a
// comparison gives the same interval every run.
const bootstrapResamples = 10000

// percentiles is the percentile interval at level of sorted values.
func percentiles(sorted []float64, level float64) (lo, hi float64) {
	alpha := (1 - level) / 2
	loIdx := int(math.Floor(alpha * float64(len(sorted))))
	hiIdx := int(math.Ceil((1-alpha)*float64(len(sorted)))) - 1
	return sorted[loIdx], sorted[hiIdx]
}
