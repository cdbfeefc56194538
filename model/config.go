package model

import "fmt"

// Config is the shape and regularisation of an AWD-LSTM language model
// (Merity et al. 2017, "Regularizing and Optimizing LSTM Language Models"),
// as ULMFiT uses it (Howard & Ruder 2018, section 3.1).
//
// Layers-1 LSTMs of Hidden units are followed by one of Emb units, so that
// the decoder can share (tie) the embedding matrix. Dropout rates are
// probabilities of dropping; 0 switches that dropout off.
type Config struct {
	Vocab  int // V: tokens in the vocabulary
	Emb    int // E: embedding size, also the last LSTM's width
	Hidden int // H: width of every LSTM but the last
	Layers int // L: number of LSTM layers (at least 1)

	OutputDropout    float32 // locked dropout on the last LSTM's output, before the decoder
	HiddenDropout    float32 // locked dropout between LSTM layers
	InputDropout     float32 // locked dropout on the embedded input
	EmbeddingDropout float32 // drops whole rows (words) of the embedding matrix
	WeightDropout    float32 // DropConnect on each LSTM's hidden-to-hidden matrix

	AR  float32 // alpha: activation regularisation on the dropped last-layer output
	TAR float32 // beta: temporal activation regularisation on the raw last-layer output
}

// DefaultConfig is the paper's AWD-LSTM language model with the dropouts of
// the authors' LM fine-tuning scripts.
//
// Sources: Emb 400, Layers 3, AR 2 and TAR 1 from the paper (section 4,
// "we use the AWD-LSTM language model with an embedding size of 400, 3 layers");
// Hidden 1152 is fastai's AWD_LSTM default (n_hid), used for its pretrained
// WikiText-103 model, in place of the paper's 1150; Vocab 60000 is the paper's vocabulary
// cap. The dropouts 0.1 output, 0.15 hidden, 0.25 input, 0.02 embedding and
// 0.2 weight are those of fastai 0.7's imdb_scripts/finetune_lm.py, the
// paper's own LM fine-tuning runs (ULMFIT.md, "Model").
func DefaultConfig() Config {
	return Config{
		Vocab: 60000, Emb: 400, Hidden: 1152, Layers: 3,
		OutputDropout: 0.1, HiddenDropout: 0.15, InputDropout: 0.25,
		EmbeddingDropout: 0.02, WeightDropout: 0.2,
		AR: 2, TAR: 1,
	}
}

// ClassifierConfig is DefaultConfig with the paper's classifier-stage
// dropouts (section 4): output 0.4, hidden 0.3, input 0.4, embedding 0.05,
// weight 0.5.
func ClassifierConfig() Config {
	c := DefaultConfig()
	c.OutputDropout, c.HiddenDropout, c.InputDropout = 0.4, 0.3, 0.4
	c.EmbeddingDropout, c.WeightDropout = 0.05, 0.5
	return c
}

// Vanilla returns c with every dropout and AR/TAR set to 0: the "vanilla LM"
// of the paper's Table 5, an LSTM language model without AWD-LSTM's
// regularisation.
func (c Config) Vanilla() Config {
	c.OutputDropout, c.HiddenDropout, c.InputDropout = 0, 0, 0
	c.EmbeddingDropout, c.WeightDropout = 0, 0
	c.AR, c.TAR = 0, 0
	return c
}

// LayerSizes returns the input width In_l and hidden width H_l of LSTM layer
// l: In_0 = Emb, In_l = H_{l-1}; H_l = Hidden except H_{L-1} = Emb.
func (c Config) LayerSizes(l int) (in, hidden int) {
	in, hidden = c.Hidden, c.Hidden
	if l == 0 {
		in = c.Emb
	}
	if l == c.Layers-1 {
		hidden = c.Emb
	}
	return in, hidden
}

// Validate reports the first field that cannot describe a model.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 1:
		return fmt.Errorf("model: config: Vocab is %d, want at least 1", c.Vocab)
	case c.Emb < 1:
		return fmt.Errorf("model: config: Emb is %d, want at least 1", c.Emb)
	case c.Layers < 1:
		return fmt.Errorf("model: config: Layers is %d, want at least 1", c.Layers)
	case c.Layers > 1 && c.Hidden < 1:
		return fmt.Errorf("model: config: Hidden is %d, want at least 1 with %d layers", c.Hidden, c.Layers)
	}
	rates := []struct {
		name string
		p    float32
	}{
		{"OutputDropout", c.OutputDropout}, {"HiddenDropout", c.HiddenDropout},
		{"InputDropout", c.InputDropout}, {"EmbeddingDropout", c.EmbeddingDropout},
		{"WeightDropout", c.WeightDropout},
	}
	for _, r := range rates {
		if !(r.p >= 0 && r.p < 1) {
			return fmt.Errorf("model: config: %s is %g, want a probability in [0, 1)", r.name, r.p)
		}
	}
	if !(c.AR >= 0) || !(c.TAR >= 0) {
		return fmt.Errorf("model: config: AR %g and TAR %g must be non-negative", c.AR, c.TAR)
	}
	return nil
}
