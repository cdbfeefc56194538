package interop

import (
	"fmt"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// fastai's AWD_LSTM language model (SequentialRNN(AWD_LSTM, LinearDecoder))
// names its state dict
//
//	0.encoder.weight                   (V, E)
//	0.encoder_dp.emb.weight            (V, E)     the same matrix, again
//	0.rnns.<l>.weight_hh_l0_raw        (4H_l, H_l) WeightDropout's raw matrix
//	0.rnns.<l>.module.weight_ih_l0     (4H_l, In_l)
//	0.rnns.<l>.module.weight_hh_l0     (4H_l, H_l) fastai v1 only
//	0.rnns.<l>.module.bias_ih_l0       (4H_l)
//	0.rnns.<l>.module.bias_hh_l0       (4H_l)
//	1.decoder.weight                   (V, E)     tied: the encoder matrix
//	1.decoder.bias                     (V)
//
// with nn.LSTM's gate order i, f, g, o, which is ours; so every tensor maps
// onto one of model.Params unchanged.
//
// fastai v1 and v2 differ in one key. v1's WeightDropout puts the
// weight-dropped copy of the raw matrix back into the LSTM's parameters, so
// its state dict also holds 0.rnns.<l>.module.weight_hh_l0: the raw matrix
// after the last forward pass's dropout (scaled, with zeros, when that pass
// was in training mode). v2's WeightDropout keeps that copy as a plain
// attribute, outside the state dict. The raw matrix is the weight either
// way, so the reader takes weight_hh_l0_raw and ignores
// module.weight_hh_l0: one reader for both versions. v2's Learner.save
// with the optimiser wraps the state dict as {'model': ..., 'opt': ...};
// LoadTorch unwraps it.

// FastaiLayout is the fastai version whose state dict keys an export uses.
type FastaiLayout int

const (
	// FastaiV1 adds 0.rnns.<l>.module.weight_hh_l0, equal to the raw
	// matrix (as after a forward pass in eval mode), so that fastai v1's
	// load_state_dict, which is strict, finds every key it expects.
	FastaiV1 FastaiLayout = iota + 1
	// FastaiV2 is the layout without it.
	FastaiV2
)

// ParseFastaiLayout reads "v1" or "v2".
func ParseFastaiLayout(s string) (FastaiLayout, error) {
	switch s {
	case "v1", "1":
		return FastaiV1, nil
	case "v2", "2":
		return FastaiV2, nil
	}
	return 0, fmt.Errorf("interop: fastai layout %q, want v1 or v2", s)
}

// fastaiName maps one of our parameter names to fastai's key, or "" for
// a tensor fastai's LM does not have.
func fastaiName(ours string) string {
	switch ours {
	case "encoder.weight":
		return "0.encoder.weight"
	case "decoder.bias":
		return "1.decoder.bias"
	}
	var l int
	var tensor string
	if _, err := fmt.Sscanf(ours, "rnn.%d.%s", &l, &tensor); err != nil {
		return ""
	}
	switch tensor {
	case "weight_hh":
		return fmt.Sprintf("0.rnns.%d.weight_hh_l0_raw", l)
	case "weight_ih", "bias_ih", "bias_hh":
		return fmt.Sprintf("0.rnns.%d.module.%s_l0", l, tensor)
	}
	return ""
}

// FastaiConfig infers Vocab, Emb, Hidden and Layers from a fastai LM
// state dict's shapes; the other fields are base's.
func FastaiConfig(sd *StateDict, base model.Config) (model.Config, error) {
	enc, ok := sd.Tensors["0.encoder.weight"]
	if !ok {
		return base, fmt.Errorf("interop: state dict has no key %q: not a fastai AWD_LSTM language model", "0.encoder.weight")
	}
	if len(enc.Shape) != 2 {
		return base, fmt.Errorf("interop: state dict key %q has shape %v, want (V, E)", "0.encoder.weight", enc.Shape)
	}
	cfg := base
	cfg.Vocab, cfg.Emb = enc.Shape[0], enc.Shape[1]
	cfg.Layers = 0
	for {
		if _, ok := sd.Tensors[fmt.Sprintf("0.rnns.%d.weight_hh_l0_raw", cfg.Layers)]; !ok {
			break
		}
		cfg.Layers++
	}
	if cfg.Layers == 0 {
		return base, fmt.Errorf("interop: state dict has no key %q: not a fastai AWD_LSTM language model", "0.rnns.0.weight_hh_l0_raw")
	}
	cfg.Hidden = cfg.Emb
	if cfg.Layers > 1 {
		hh := sd.Tensors["0.rnns.0.weight_hh_l0_raw"]
		if len(hh.Shape) != 2 {
			return base, fmt.Errorf("interop: state dict key %q has shape %v, want (4H, H)", "0.rnns.0.weight_hh_l0_raw", hh.Shape)
		}
		cfg.Hidden = hh.Shape[1]
	}
	return cfg, cfg.Validate()
}

// FromFastai builds a language model on be from a fastai (v1 or v2)
// AWD_LSTM LM state dict, its sizes inferred from the shapes and its
// dropouts and AR/TAR model.DefaultConfig's. Every tensor's shape is
// checked, and the copies fastai keeps of the embedding
// (0.encoder_dp.emb.weight, and the tied 1.decoder.weight) must equal
// 0.encoder.weight when present. v1's module.weight_hh_l0 is not read (see
// above).
func FromFastai(be compute.Backend, sd *StateDict) (*model.LM, error) {
	cfg, err := FastaiConfig(sd, model.DefaultConfig())
	if err != nil {
		return nil, err
	}
	lm, err := model.NewLM(be, cfg, 0)
	if err != nil {
		return nil, err
	}
	p := lm.Params
	for _, name := range p.Names() {
		key := fastaiName(name)
		t, err := sd.Tensor(key, p.Shape(name)...)
		if err != nil {
			return nil, err
		}
		if err := p.Set(name, t.Data); err != nil {
			return nil, err
		}
	}
	enc := sd.Tensors["0.encoder.weight"]
	for _, copyKey := range []string{"0.encoder_dp.emb.weight", "1.decoder.weight"} {
		c, ok := sd.Tensors[copyKey]
		if !ok {
			continue
		}
		if !equalInts(c.Shape, enc.Shape) {
			return nil, fmt.Errorf("interop: state dict key %q has shape %v, want %v (a copy of 0.encoder.weight)", copyKey, c.Shape, enc.Shape)
		}
		for i, v := range c.Data {
			if v != enc.Data[i] {
				return nil, fmt.Errorf("interop: state dict key %q differs from 0.encoder.weight at element %d (%g vs %g): the decoder must be tied to the embedding", copyKey, i, v, enc.Data[i])
			}
		}
	}
	return lm, nil
}

// LoadFastaiLM reads a fastai (v1 or v2) language model saved with
// torch.save (the .pth of learn.save or save_encoder's sibling) and its
// itos.pkl, and builds our LM. The vocabulary must have one token per embedding row.
func LoadFastaiLM(be compute.Backend, pthPath, itosPath string) (*model.LM, []string, error) {
	sd, err := LoadTorch(pthPath)
	if err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(itosPath)
	if err != nil {
		return nil, nil, fmt.Errorf("interop: %w", err)
	}
	itos, err := ReadItos(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", itosPath, err)
	}
	lm, err := FromFastai(be, sd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pthPath, err)
	}
	if v := lm.Params.Config().Vocab; len(itos) != v {
		return nil, nil, fmt.Errorf("interop: %s lists %d tokens, %s has %d embedding rows", itosPath, len(itos), pthPath, v)
	}
	return lm, itos, nil
}

// ConvertLM returns lm laid out for the vocabulary newItos (fastai's
// convert_weights, model.ConvertVocab): known tokens keep their rows, new
// ones get the mean embedding row and mean decoder bias.
func ConvertLM(lm *model.LM, itos, newItos []string) (*model.LM, error) {
	p, err := model.ConvertVocab(lm.Params, itos, newItos)
	if err != nil {
		return nil, err
	}
	out, err := model.NewLM(p.Backend(), p.Config(), 0)
	if err != nil {
		return nil, err
	}
	if err := out.Params.CopyFrom(p); err != nil {
		return nil, err
	}
	return out, nil
}

// FastaiStateDict lays the language model's parameters p out as fastai's
// AWD_LSTM LM state dict, in fastai's key order. The embedding's keys
// (0.encoder.weight, 0.encoder_dp.emb.weight, 1.decoder.weight) hold one
// *Tensor, as they hold one parameter in fastai, and so do a layer's
// weight_hh_l0_raw and module.weight_hh_l0 (FastaiV1): WriteTorch stores
// each once. A classifier's Params give its encoder, the head left out.
func FastaiStateDict(p *model.Params, layout FastaiLayout) *StateDict {
	sd := &StateDict{Tensors: map[string]*Tensor{}}
	tensors := map[string]*Tensor{}
	add := func(key, ours string) {
		t, ok := tensors[ours]
		if !ok {
			t = &Tensor{Shape: p.Shape(ours), Data: p.Get(ours)}
			tensors[ours] = t
		}
		sd.Names = append(sd.Names, key)
		sd.Tensors[key] = t
	}
	add("0.encoder.weight", "encoder.weight")
	add("0.encoder_dp.emb.weight", "encoder.weight")
	for _, name := range p.Names() {
		if !strings.HasPrefix(name, "rnn.") {
			continue
		}
		add(fastaiName(name), name)
		if layout == FastaiV1 && strings.HasSuffix(name, ".weight_hh") {
			add(strings.Replace(fastaiName(name), "weight_hh_l0_raw", "module.weight_hh_l0", 1), name)
		}
	}
	add("1.decoder.weight", "encoder.weight")
	add("1.decoder.bias", "decoder.bias")
	return sd
}

// SaveFastaiTorch writes the language model's parameters p to path as a
// PyTorch checkpoint in fastai's layout (FastaiStateDict, WriteTorch), for
// fastai's learn.load or torch.load.
func SaveFastaiTorch(path string, p *model.Params, layout FastaiLayout) error {
	return SaveTorch(path, FastaiStateDict(p, layout))
}
