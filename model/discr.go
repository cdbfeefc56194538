package model

import (
	"fmt"
	"math"
)

// Discriminative fine-tuning (Howard & Ruder 2018, section 3.2, equation 2):
// each layer group l gets its own learning rate, lower layers smaller,
//
//	eta^{l-1} = eta^l / 2.6,
//
// with eta^L the top group's rate. The layers hold general features near the
// input and task-specific ones near the output, so the bottom should move
// least. Adam.Step takes the rates per group.

// DiscriminativeFactor is the paper's ratio between neighbouring groups'
// rates (section 3.2: "we found it to work well to first choose eta^L ...
// and then use eta^{l-1} = eta^l / 2.6").
const DiscriminativeFactor = 2.6

// DiscriminativeLRs returns the rates of n groups ordered bottom to top:
// the top one gets lr and each lower one the rate above it divided by
// factor. For a classifier (Params.Groups: embedding, rnn.0, ..., head) that
// is the groups' own order.
func DiscriminativeLRs(lr float64, n int, factor float64) []float64 {
	out := make([]float64, n)
	for g := range out {
		out[g] = lr / math.Pow(factor, float64(n-1-g))
	}
	return out
}

// LMDiscriminativeLRs returns discriminative rates for a language model of
// the given layers in Params.Groups order (embedding, rnn.0, ...,
// rnn.<L-1>). The embedding group is also the tied decoder, the LM's output
// layer, so it ranks on top with lr, above the last LSTM, as fastai's
// awd_lstm_lm_split orders the groups: rnn.<L-1> gets lr/factor and rnn.0
// lr/factor^L.
func LMDiscriminativeLRs(lr float64, layers int, factor float64) []float64 {
	ranked := DiscriminativeLRs(lr, layers+1, factor) // rnn.0 .. rnn.<L-1>, then the embedding
	return append([]float64{ranked[layers]}, ranked[:layers]...)
}

// ScriptsLMRates are the per-group rates of the authors' LM fine-tuning
// script (fastai 0.7 imdb_scripts/finetune_lm.py: lrs = [lr/6, lr/3, lr,
// lr/2] for LSTM 1, LSTM 2, LSTM 3 and the embedding with the tied decoder),
// in Params.Groups order: [lr/2, lr/6, lr/3, lr]. They exist for the
// 3-layer model only.
func ScriptsLMRates(lr float64, layers int) ([]float64, error) {
	if layers != 3 {
		return nil, fmt.Errorf("model: the scripts' LM rates are for 3 LSTM layers, the model has %d", layers)
	}
	return []float64{lr / 2, lr / 6, lr / 3, lr}, nil
}
