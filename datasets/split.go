package datasets

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sort"
)

// ValidationFraction is the share of the training set the paper holds out
// for validation in Tables 4-7 and Figures 3-4.
const ValidationFraction = 0.1

// SplitValidation holds out a stratified, seeded fraction of train as a
// validation set (frac = ValidationFraction for the paper's experiments).
// It returns the remaining training examples and the held-out ones, each in
// their original order.
//
// Stratified: the held-out set has round(frac*len(train)) examples; each
// class (unlabelled examples form one more class) contributes
// floor(frac*n) of its n examples, and the examples still owed go one each
// to the classes with the largest remainders (ties to the lower label).
// Within a class the held-out examples are the first ones of a Fisher-Yates
// shuffle driven by PCG-DXSM seeded with (seed, splitStream).
//
// Same seed and same train (labels in the same order) -> same split, on any
// machine and Go version: the generator is a fixed algorithm and the shuffle
// and its bounded draws are implemented here, not taken from math/rand.
func SplitValidation(train []Example, frac float64, seed uint64) (rest, valid []Example, err error) {
	strata := make([]int, len(train))
	for i, e := range train {
		strata[i] = e.Label
	}
	held, err := stratifiedSplit(strata, frac, seed)
	if err != nil {
		return nil, nil, err
	}
	for i, e := range train {
		if held[i] {
			valid = append(valid, e)
		} else {
			rest = append(rest, e)
		}
	}
	return rest, valid, nil
}

// splitStream is the PCG stream constant of every split this package makes,
// so that a seed means the same thing wherever it is used.
const splitStream = 0x756c6d666974 // "ulmfit"

// stratifiedSplit marks which items to hold out; strata[i] is item i's
// class. See SplitValidation for the rule.
func stratifiedSplit(strata []int, frac float64, seed uint64) ([]bool, error) {
	if !(frac > 0 && frac < 1) {
		return nil, fmt.Errorf("split fraction %v: want a number strictly between 0 and 1", frac)
	}
	members := map[int][]int{}
	for i, s := range strata {
		members[s] = append(members[s], i)
	}
	keys := make([]int, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Ints(keys)

	want := int(math.Round(frac * float64(len(strata))))
	quota := make([]int, len(keys))
	rem := make([]float64, len(keys))
	got := 0
	for i, k := range keys {
		exact := frac * float64(len(members[k]))
		quota[i] = int(math.Floor(exact))
		rem[i] = exact - float64(quota[i])
		got += quota[i]
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for j := 0; got < want && j < len(order); j++ {
		if quota[order[j]] < len(members[keys[order[j]]]) {
			quota[order[j]]++
			got++
		}
	}

	rng := rand.NewPCG(seed, splitStream)
	held := make([]bool, len(strata))
	for i, k := range keys {
		idx := append([]int(nil), members[k]...)
		shuffle(rng, idx)
		for _, j := range idx[:quota[i]] {
			held[j] = true
		}
	}
	return held, nil
}

// shuffle is Fisher-Yates with unbiased bounded draws.
func shuffle(rng *rand.PCG, a []int) {
	for i := len(a) - 1; i > 0; i-- {
		j := int(below(rng, uint64(i+1)))
		a[i], a[j] = a[j], a[i]
	}
}

// below returns a uniform integer in [0, n) by Lemire's multiply-and-reject
// method ("Fast random integer generation in an interval", 2019).
func below(rng *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(rng.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(rng.Uint64(), n)
		}
	}
	return hi
}
