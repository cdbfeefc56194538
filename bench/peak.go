package bench

import "strings"

// cardPeak is one card's dense matrix-product rate by precision, in
// TFLOP/s: NVIDIA's datasheet figures, those quoted "with sparsity" halved.
type cardPeak struct {
	match  string // a substring of the card's name as the engines report it
	tflops map[string]float64
}

// cardPeaks lists the cards the bench has run on. The H200 has the H100
// SXM's GH100 compute (132 SMs) with more and faster memory, so the same
// rates.
var cardPeaks = []cardPeak{
	{"H200", map[string]float64{"fp32": 66.9, "tf32": 494.7, "bf16": 989.4}},
	{"H100 80GB HBM3", map[string]float64{"fp32": 66.9, "tf32": 494.7, "bf16": 989.4}},
	{"H100 SXM", map[string]float64{"fp32": 66.9, "tf32": 494.7, "bf16": 989.4}},
}

// CardPeakTFLOPS is the dense matrix-product peak of card at precision in
// TFLOP/s, or 0 when the card is not in the list (a fraction of peak is
// then not given rather than guessed).
func CardPeakTFLOPS(card, precision string) float64 {
	for _, c := range cardPeaks {
		if strings.Contains(card, c.match) {
			return c.tflops[precision]
		}
	}
	return 0
}
