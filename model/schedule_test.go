package model

import (
	"math"
	"testing"
)

// The schedules and rates against values worked out by hand.

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.15g, want %.15g", what, got, want)
	}
}

func TestSTLRByHand(t *testing.T) {
	// T = 1000, cut_frac 0.1, ratio 32: cut = 100, the decay spans
	// 100 * (1/0.1 - 1) = 900 iterations.
	s := STLR(0.1, 32)
	near(t, "STLR(0)", s(0, 1000), 1.0/32)
	near(t, "STLR(50), half-way up", s(50, 1000), (1+0.5*31)/32)
	near(t, "STLR(cut)", s(100, 1000), 1)
	near(t, "STLR(550), half-way down", s(550, 1000), (1+0.5*31)/32)
	near(t, "STLR(T)", s(1000, 1000), 1.0/32)
	// The scripts' classifier setting: ratio 8, cut_frac 1/3 over T = 30:
	// cut 10, the peak at t = 10, p = 1 - 5/20 at t = 15.
	s = STLR(1.0/3, 8)
	near(t, "STLR(0) ratio 8", s(0, 30), 1.0/8)
	near(t, "STLR(10) ratio 8", s(10, 30), 1)
	near(t, "STLR(15) ratio 8", s(15, 30), (1+0.75*7)/8)
	// cut = floor(25 * 0.1) = 2, decay over 2 * 9 = 18 < 23 iterations: held
	// at eta_max/ratio from t = 20 on.
	s = STLR(0.1, 32)
	near(t, "STLR(24) of 25", s(24, 25), 1.0/32)
	// No warm-up when T*cut_frac < 1.
	near(t, "STLR(0) of 5", s(0, 5), 1)
	near(t, "STLR(4) of 5", s(4, 5), (1+0.2*31)/32)
}

func TestCosineByHand(t *testing.T) {
	near(t, "cos(0)", Cosine(0, 80), 1)
	near(t, "cos(T/2)", Cosine(40, 80), 0.5)
	near(t, "cos(T/4)", Cosine(20, 80), (1+math.Sqrt(0.5))/2)
	near(t, "cos(T)", Cosine(80, 80), 0)
}

func TestDiscriminativeRates(t *testing.T) {
	got := DiscriminativeLRs(0.01, 5, DiscriminativeFactor)
	want := []float64{0.01 / (2.6 * 2.6 * 2.6 * 2.6), 0.01 / (2.6 * 2.6 * 2.6), 0.01 / (2.6 * 2.6), 0.01 / 2.6, 0.01}
	for g := range want {
		near(t, "classifier group rate", got[g], want[g])
	}
	for g := 1; g < len(got); g++ {
		near(t, "ratio of neighbouring groups", got[g]/got[g-1], 2.6)
	}
	lm := LMDiscriminativeLRs(0.004, 3, DiscriminativeFactor)
	// embedding+decoder on top, then rnn.2, rnn.1, rnn.0.
	for g, w := range []float64{0.004, 0.004 / (2.6 * 2.6 * 2.6), 0.004 / (2.6 * 2.6), 0.004 / 2.6} {
		near(t, "LM group rate", lm[g], w)
	}
	scripts, err := ScriptsLMRates(0.004, 3)
	if err != nil {
		t.Fatal(err)
	}
	for g, w := range []float64{0.002, 0.004 / 6, 0.004 / 3, 0.004} {
		near(t, "scripts LM group rate", scripts[g], w)
	}
	if _, err := ScriptsLMRates(0.004, 2); err == nil {
		t.Error("the scripts' rates for a 2-layer model: no error")
	}
}
