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
	MethodWelch     = "welch-t"   // both sides have >= 2 seeds
	MethodBootstrap = "bootstrap" // one side is a single value, the other has >= MinBootstrap seeds
	MethodNone      = "n/a"       // too few values for either
)

// MinBootstrap is the fewest seeds a side needs for a bootstrap against a
// single value; with two, the resampled means take only three values.
const MinBootstrap = 3

// bootstrapResamples is the number of bootstrap resamples. The generator is
// seeded with a constant, so a comparison gives the same interval every run.
const bootstrapResamples = 10000

// Interval is a confidence interval for the difference of means
// (candidate - baseline).
type Interval struct {
	Method string
	Level  float64 // e.g. 0.95
	Lo, Hi float64
	DF     float64 // Welch-Satterthwaite degrees of freedom (welch-t only)
}

// Excludes0 reports whether the interval is significant: it lies entirely
// on one side of zero.
func (iv Interval) Excludes0() bool {
	return iv.Method != MethodNone && (iv.Lo > 0 || iv.Hi < 0)
}

// DiffInterval returns a confidence interval at level for cand.Mean -
// base.Mean, over seeds:
//   - both sides have >= 2 seeds: Welch's t-interval (unequal variances,
//     Welch-Satterthwaite degrees of freedom). When neither side varies the
//     interval is the difference itself.
//   - one side is a single value (the paper's number, or one run) and the
//     other has >= MinBootstrap seeds: a percentile bootstrap over that
//     side's seeds, the single value held fixed. It measures seed noise on
//     one side only, so it is narrower than a two-sided interval would be.
//   - otherwise: MethodNone ("n/a"), as the paper, which reports one run per
//     cell, gives no interval.
func DiffInterval(base, cand Summary, level float64) Interval {
	d := cand.Mean - base.Mean
	iv := Interval{Method: MethodNone, Level: level, Lo: math.NaN(), Hi: math.NaN()}
	switch {
	case base.N >= 2 && cand.N >= 2:
		vb := base.Std * base.Std / float64(base.N)
		vc := cand.Std * cand.Std / float64(cand.N)
		se := math.Sqrt(vb + vc)
		iv.Method = MethodWelch
		if se == 0 {
			iv.Lo, iv.Hi = d, d
			return iv
		}
		iv.DF = (vb + vc) * (vb + vc) / (vb*vb/float64(base.N-1) + vc*vc/float64(cand.N-1))
		t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: iv.DF}.Quantile(1 - (1-level)/2)
		iv.Lo, iv.Hi = d-t*se, d+t*se
	case base.N == 1 && cand.N >= MinBootstrap:
		lo, hi := bootstrapMean(cand.Values, level)
		iv.Method, iv.Lo, iv.Hi = MethodBootstrap, lo-base.Mean, hi-base.Mean
	case cand.N == 1 && base.N >= MinBootstrap:
		lo, hi := bootstrapMean(base.Values, level)
		iv.Method, iv.Lo, iv.Hi = MethodBootstrap, cand.Mean-hi, cand.Mean-lo
	}
	return iv
}

// bootstrapMean is the percentile bootstrap interval of the mean of vs.
func bootstrapMean(vs []float64, level float64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(0x5eed, uint64(len(vs))))
	means := make([]float64, bootstrapResamples)
	n := len(vs)
	for b := range means {
		var sum float64
		for i := 0; i < n; i++ {
			sum += vs[rng.IntN(n)]
		}
		means[b] = sum / float64(n)
	}
	sort.Float64s(means)
	alpha := (1 - level) / 2
	loIdx := int(math.Floor(alpha * bootstrapResamples))
	hiIdx := int(math.Ceil((1-alpha)*bootstrapResamples)) - 1
	return means[loIdx], means[hiIdx]
}
