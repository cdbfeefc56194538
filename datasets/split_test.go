package datasets

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// classExamples makes n[c] examples of each class c, interleaved.
func classExamples(n ...int) []Example {
	var out []Example
	left := slices.Clone(n)
	for i := 0; ; i++ {
		added := false
		for c := range left {
			if left[c] > 0 {
				out = append(out, Example{Text: []string{fmt.Sprintf("c%d-%d", c, n[c]-left[c])}, Label: c})
				left[c]--
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func TestSplitValidationStratified(t *testing.T) {
	// TREC-6's training set: 10% is 545.2 -> 545; floors 8+116+125+122+83+89 = 543,
	// remainders .6 .2 0 .3 .5 .6 -> the two owed go to ABBR and NUM (ties to the lower label).
	train := classExamples(86, 1162, 1250, 1223, 835, 896)
	rest, valid, err := SplitValidation(train, ValidationFraction, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ClassCounts(valid, 6), []int{9, 116, 125, 122, 83, 90}; !slices.Equal(got, want) {
		t.Errorf("valid per class %v, want %v", got, want)
	}
	if len(rest)+len(valid) != len(train) || len(valid) != 545 {
		t.Errorf("sizes %d + %d of %d", len(rest), len(valid), len(train))
	}
	// Every example lands in exactly one part, each part in the original order.
	pos := map[string]int{}
	for i, e := range train {
		pos[e.Text[0]] = i
	}
	for _, part := range [][]Example{rest, valid} {
		last := -1
		for _, e := range part {
			i, ok := pos[e.Text[0]]
			if !ok || i <= last {
				t.Fatalf("example %q out of order or duplicated", e.Text[0])
			}
			last = i
			delete(pos, e.Text[0])
		}
	}
	if len(pos) != 0 {
		t.Errorf("%d examples lost", len(pos))
	}
}

func TestSplitValidationSeeded(t *testing.T) {
	train := classExamples(300, 200, 100)
	_, a, _ := SplitValidation(train, 0.1, 7)
	_, b, _ := SplitValidation(slices.Clone(train), 0.1, 7)
	_, c, _ := SplitValidation(train, 0.1, 8)
	if !slices.Equal(texts(a), texts(b)) {
		t.Error("same seed gave different splits")
	}
	if slices.Equal(texts(a), texts(c)) {
		t.Error("seeds 7 and 8 gave the same split")
	}
	// Pin the stream: a change of generator or shuffle would silently
	// change every published validation split.
	if got := texts(a)[:3]; !slices.Equal(got, pinnedSplitHead) {
		t.Errorf("seed 7 held out %q first; this package's splits used to start %q", got, pinnedSplitHead)
	}
}

var pinnedSplitHead = []string{"c2-0", "c2-1", "c1-2"}

func TestSplitValidationBadFraction(t *testing.T) {
	for _, f := range []float64{0, 1, -0.1, 1.5} {
		if _, _, err := SplitValidation(classExamples(5, 5), f, 1); err == nil {
			t.Errorf("fraction %v: no error", f)
		}
	}
}

func TestBelowIsUniform(t *testing.T) {
	rng := newTestPCG()
	var counts [3]int
	for i := 0; i < 30000; i++ {
		counts[below(rng, 3)]++
	}
	for v, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("value %d drawn %d times of 30000, want about 10000", v, c)
		}
	}
}

func newTestPCG() *rand.PCG { return rand.NewPCG(1, 2) }
