package model

import "fmt"

// Vocabulary conversion (fastai's convert_weights, used by ULMFiT to start
// target-task LM fine-tuning from the WikiText-103 model, section 3.2): the
// target task's vocabulary differs from the pretraining one, so the rows of
// the vocabulary-sized tensors are rebuilt. A token of the new vocabulary
// that the old one has keeps its embedding row and decoder bias; a new token
// gets the mean row and the mean bias, a neutral starting point that
// fine-tuning then moves.

// ConvertVocab returns a copy of old laid out for the vocabulary newItos
// (token strings by id); oldItos is old's vocabulary. Every tensor that does
// not depend on the vocabulary is copied unchanged. When a token appears
// more than once in oldItos, its first id is used.
func ConvertVocab(old *Params, oldItos, newItos []string) (*Params, error) {
	cfg := old.cfg
	if len(oldItos) != cfg.Vocab {
		return nil, fmt.Errorf("model: convert vocabulary: the old vocabulary lists %d tokens, the parameters have %d rows", len(oldItos), cfg.Vocab)
	}
	if len(newItos) == 0 {
		return nil, fmt.Errorf("model: convert vocabulary: the new vocabulary is empty")
	}
	newCfg := cfg
	newCfg.Vocab = len(newItos)
	p, err := NewParams(old.be, newCfg)
	if err != nil {
		return nil, err
	}
	for _, name := range old.names {
		if name != "encoder.weight" && name != "decoder.bias" {
			if err := p.Set(name, old.Get(name)); err != nil {
				return nil, err
			}
		}
	}

	E := cfg.Emb
	enc, bias := old.Get("encoder.weight"), old.Get("decoder.bias")
	meanRow := make([]float64, E)
	var meanBias float64
	for v := 0; v < cfg.Vocab; v++ {
		for e := 0; e < E; e++ {
			meanRow[e] += float64(enc[v*E+e])
		}
		meanBias += float64(bias[v])
	}
	for e := range meanRow {
		meanRow[e] /= float64(cfg.Vocab)
	}
	meanBias /= float64(cfg.Vocab)

	oldID := make(map[string]int, len(oldItos))
	for i, tok := range oldItos {
		if _, dup := oldID[tok]; !dup {
			oldID[tok] = i
		}
	}
	newEnc, newBias := make([]float32, len(newItos)*E), make([]float32, len(newItos))
	for i, tok := range newItos {
		row := newEnc[i*E : (i+1)*E]
		if j, ok := oldID[tok]; ok {
			copy(row, enc[j*E:(j+1)*E])
			newBias[i] = bias[j]
			continue
		}
		for e := range row {
			row[e] = float32(meanRow[e])
		}
		newBias[i] = float32(meanBias)
	}
	if err := p.Set("encoder.weight", newEnc); err != nil {
		return nil, err
	}
	if err := p.Set("decoder.bias", newBias); err != nil {
		return nil, err
	}
	return p, nil
}
