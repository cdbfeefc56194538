package oracle

import (
	"encoding/json"
	"fmt"
	"os"
)

// TorchReference is the state written by bench/torch_reference.py: a small
// AWD-LSTM's weights, inputs and dropout masks, and what PyTorch computed from
// them in float64 (loss parts, logits, every gradient, five Adam steps' losses).
type TorchReference struct {
	Generator string `json:"generator"`
	Config    struct {
		Vocab  int     `json:"vocab"`
		Emb    int     `json:"emb"`
		Hidden int     `json:"hidden"`
		Layers int     `json:"layers"`
		BPTT   int     `json:"bptt"`
		Batch  int     `json:"batch"`
		AR     float64 `json:"ar"`
		TAR    float64 `json:"tar"`
	} `json:"config"`
	Adam struct {
		LR          float64 `json:"lr"`
		Beta1       float64 `json:"beta1"`
		Beta2       float64 `json:"beta2"`
		Eps         float64 `json:"eps"`
		WeightDecay float64 `json:"weight_decay"`
		Clip        float64 `json:"clip"`
		Steps       int     `json:"steps"`
	} `json:"adam"`
	IDs     []int                `json:"ids"`
	Targets []int                `json:"targets"`
	Params  map[string][]float64 `json:"params"`
	Masks   struct {
		EmbedRows []float64   `json:"embed_rows"`
		Input     []float64   `json:"input"`
		Hidden    [][]float64 `json:"hidden"`
		Output    []float64   `json:"output"`
		Weight    [][]float64 `json:"weight"`
	} `json:"masks"`
	Loss struct {
		CE  float64 `json:"ce"`
		AR  float64 `json:"ar"`
		TAR float64 `json:"tar"`
	} `json:"loss"`
	Logits     []float64            `json:"logits"`
	Grads      map[string][]float64 `json:"grads"`
	AdamLosses []float64            `json:"adam_losses"`
}

// LoadTorchReference reads a reference state file.
func LoadTorchReference(path string) (*TorchReference, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r TorchReference
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.IDs) != r.Config.BPTT*r.Config.Batch || len(r.Params) == 0 {
		return nil, fmt.Errorf("%s: incomplete reference state (ids %d, want %d x %d)", path, len(r.IDs), r.Config.BPTT, r.Config.Batch)
	}
	return &r, nil
}

// Spec is the reference network's shape.
func (r *TorchReference) Spec() Spec {
	c := r.Config
	return Spec{Vocab: c.Vocab, Emb: c.Emb, Hidden: c.Hidden, Layers: c.Layers, AR: c.AR, TAR: c.TAR}
}

// OracleMasks are the reference's masks in the oracle's form.
func (r *TorchReference) OracleMasks() Masks {
	m := r.Masks
	return Masks{EmbedRows: m.EmbedRows, Input: m.Input, Hidden: m.Hidden, Output: m.Output, Weight: m.Weight}
}
