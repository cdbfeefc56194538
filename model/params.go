package model

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Params holds every parameter of a language model in one flat buffer with
// named views (llm.c's malloc_and_point_parameters). The tensors follow
// PyTorch's layout and names, row-major, LSTM gates in the order input,
// forget, cell, output:
//
//	encoder.weight        (V, E)
//	rnn.<l>.weight_ih     (4*H_l, In_l)
//	rnn.<l>.weight_hh     (4*H_l, H_l)   the raw matrix, before weight dropout
//	rnn.<l>.bias_ih       (4*H_l)
//	rnn.<l>.bias_hh       (4*H_l)
//	decoder.bias          (V)
//
// for l = 0..L-1 in that order. The decoder's weight is encoder.weight
// (tied), so it has no tensor of its own. Gradients use a second Params of
// the identical layout.
type Params struct {
	be     compute.Backend
	cfg    Config
	flat   compute.Vec
	names  []string
	offset []int
	shapes [][]int
	index  map[string]int
	groups []Group
}

// Range is the half-open span [Start, End) of the flat buffer.
type Range struct{ Start, End int }

// Group is a layer group: the unit of discriminative learning rates and of
// (gradual) unfreezing, as the ranges of the flat buffer it owns.
type Group struct {
	Name   string
	Ranges []Range
}

// NewParams allocates zeroed parameters for cfg on be.
func NewParams(be compute.Backend, cfg Config) (*Params, error) {
	return newParams(be, cfg, "", nil)
}

// tensorSpec names a tensor and its shape.
type tensorSpec struct {
	name  string
	shape []int
}

// newParams lays out the language model's tensors and, when extra is not
// empty, the extra tensors after them as one more group named group (the
// classifier head), then allocates the buffer.
func newParams(be compute.Backend, cfg Config, group string, extra []tensorSpec) (*Params, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Params{be: be, cfg: cfg, index: map[string]int{}}
	n := 0
	add := func(name string, shape ...int) Range {
		size := 1
		for _, d := range shape {
			size *= d
		}
		p.index[name] = len(p.names)
		p.names = append(p.names, name)
		p.offset = append(p.offset, n)
		p.shapes = append(p.shapes, shape)
		n += size
		return Range{n - size, n}
	}
	enc := add("encoder.weight", cfg.Vocab, cfg.Emb)
	var layers []Group
	for l := 0; l < cfg.Layers; l++ {
		in, h := cfg.LayerSizes(l)
		first := add(layerName(l, "weight_ih"), 4*h, in)
		add(layerName(l, "weight_hh"), 4*h, h)
		add(layerName(l, "bias_ih"), 4*h)
		last := add(layerName(l, "bias_hh"), 4*h)
		layers = append(layers, Group{Name: fmt.Sprintf("rnn.%d", l), Ranges: []Range{{first.Start, last.End}}})
	}
	dec := add("decoder.bias", cfg.Vocab)
	// The embedding and the decoder bias form one group: the decoder's
	// weight is the embedding matrix itself (weight tying), so the two cannot
	// take different learning rates or be frozen apart, and the decoder bias
	// belongs with the decoder. fastai's awd_lstm_lm_split groups
	// [encoder, decoder] the same way.
	p.groups = append([]Group{{Name: "embedding", Ranges: []Range{enc, dec}}}, layers...)
	if len(extra) > 0 {
		start := n
		for _, t := range extra {
			add(t.name, t.shape...)
		}
		p.groups = append(p.groups, Group{Name: group, Ranges: []Range{{start, n}}})
	}
	p.flat = be.Alloc(n)
	return p, nil
}

// floatsFor is how many floats newParams lays out for cfg and extra,
// counted without laying anything out; ok is false when the count passes
// limit (or a dimension is negative). A checkpoint reader compares it with
// the floats its file holds before allocating, so a corrupt header cannot
// ask for more memory than the file could fill.
func floatsFor(cfg Config, extra []tensorSpec, limit int) (n int, ok bool) {
	add := func(shape ...int) bool {
		size := 1
		for _, d := range shape {
			if d < 0 || d > 0 && size > limit/d {
				return false
			}
			size *= d
		}
		if size > limit-n {
			return false
		}
		n += size
		return true
	}
	if !add(cfg.Vocab, cfg.Emb) || !add(cfg.Vocab) {
		return n, false
	}
	// Each layer adds at least 16 floats (Validate asks for positive
	// sizes), so the loop ends within limit/16 iterations.
	for l := 0; l < cfg.Layers; l++ {
		in, h := cfg.LayerSizes(l)
		if !add(4, h, in) || !add(4, h, h) || !add(4, h) || !add(4, h) {
			return n, false
		}
	}
	for _, t := range extra {
		if !add(t.shape...) {
			return n, false
		}
	}
	return n, true
}

func layerName(l int, tensor string) string { return fmt.Sprintf("rnn.%d.%s", l, tensor) }

// Config is the configuration the parameters were laid out for.
func (p *Params) Config() Config { return p.cfg }

// Backend is the backend that owns the buffer.
func (p *Params) Backend() compute.Backend { return p.be }

// Flat is the whole buffer.
func (p *Params) Flat() compute.Vec { return p.flat }

// Len is the total number of parameters.
func (p *Params) Len() int { return p.flat.N }

// Names lists the tensors in buffer order.
func (p *Params) Names() []string { return append([]string(nil), p.names...) }

// Has reports whether name is a tensor of p.
func (p *Params) Has(name string) bool {
	_, ok := p.index[name]
	return ok
}

func (p *Params) find(name string) int {
	i, ok := p.index[name]
	if !ok {
		panic(fmt.Sprintf("model: no parameter named %q (have %v)", name, p.names))
	}
	return i
}

// Range is the span of the flat buffer that holds name.
// Like View, Shape and Get it panics on a name that is not in Names: names
// are fixed by the code, so an unknown one is a programming error.
func (p *Params) Range(name string) Range {
	i := p.find(name)
	return Range{p.offset[i], p.offset[i] + size(p.shapes[i])}
}

// View is the window of the flat buffer that holds name.
func (p *Params) View(name string) compute.Vec {
	r := p.Range(name)
	return p.flat.Slice(r.Start, r.End)
}

// Shape is the tensor's shape, e.g. [4*H, In] for a weight_ih.
func (p *Params) Shape(name string) []int {
	return append([]int(nil), p.shapes[p.find(name)]...)
}

// Get copies the tensor to the host.
func (p *Params) Get(name string) []float32 {
	v := p.View(name)
	out := make([]float32, v.N)
	p.be.Download(out, v)
	return out
}

// Set copies v from the host into the tensor.
func (p *Params) Set(name string, v []float32) error {
	i, ok := p.index[name]
	if !ok {
		return fmt.Errorf("model: set parameter %q: no such parameter (have %v)", name, p.names)
	}
	if want := size(p.shapes[i]); len(v) != want {
		return fmt.Errorf("model: set parameter %q: got %d values, want %d for shape %v", name, len(v), want, p.shapes[i])
	}
	p.be.Upload(p.View(name), v)
	return nil
}

// Groups lists the layer groups: "embedding" (encoder.weight and
// decoder.bias), then "rnn.0" .. "rnn.<L-1>", bottom to top, and a
// classifier's "head" last. The paper's discriminative rates
// (eta^{l-1} = eta^l / 2.6) and gradual unfreezing index this list.
func (p *Params) Groups() []Group {
	out := make([]Group, len(p.groups))
	for i, g := range p.groups {
		out[i] = Group{Name: g.Name, Ranges: append([]Range(nil), g.Ranges...)}
	}
	return out
}

// SameLayout reports whether q has p's tensors with p's shapes.
func (p *Params) SameLayout(q *Params) error {
	if len(p.names) != len(q.names) {
		return fmt.Errorf("model: %d tensors, want %d", len(q.names), len(p.names))
	}
	for i, name := range p.names {
		if q.names[i] != name {
			return fmt.Errorf("model: tensor %d is %q, want %q", i, q.names[i], name)
		}
		if !slices.Equal(p.shapes[i], q.shapes[i]) {
			return fmt.Errorf("model: %s has shape %v, want %v", name, q.shapes[i], p.shapes[i])
		}
	}
	return nil
}

// CopyFrom copies every tensor of src into p; the layouts must match.
func (p *Params) CopyFrom(src *Params) error {
	if err := p.SameLayout(src); err != nil {
		return fmt.Errorf("model: copy parameters: %w", err)
	}
	if src.be == p.be {
		p.be.Copy(p.flat, src.flat)
		return nil
	}
	host := make([]float32, src.flat.N)
	src.be.Download(host, src.flat)
	p.be.Upload(p.flat, host)
	return nil
}

// Zero sets every element to 0 (for gradients: ZeroGrads).
func (p *Params) Zero() { p.be.Fill(p.flat, 0) }

// initPyTorch fills p as PyTorch and fastai initialise an AWD-LSTM:
// embedding U(-0.1, 0.1) (fastai's initrange), every LSTM weight and bias
// U(-1/sqrt(H_l), 1/sqrt(H_l)) (nn.LSTM's reset_parameters), decoder bias 0.
// The draws use compute.Uniform with one sub-seed per tensor, so they depend
// only on seed.
func (p *Params) initPyTorch(seed uint64) {
	for i, name := range p.names {
		n := size(p.shapes[i])
		var bound float64
		switch {
		case name == "encoder.weight":
			bound = 0.1
		case name == "decoder.bias":
			bound = 0
		case strings.HasPrefix(name, "rnn."):
			bound = 1 / math.Sqrt(float64(p.shapes[i][0]/4))
		default:
			continue // not a language-model tensor: its owner initialises it
		}
		host := make([]float32, n)
		sub := mixSeed(seed, uint64(i))
		for j := range host {
			host[j] = float32(bound * (2*float64(compute.Uniform(sub, j)) - 1))
		}
		p.be.Upload(p.flat.Slice(p.offset[i], p.offset[i]+n), host)
	}
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// mixSeed derives an independent stream seed from (seed, k): splitmix64's
// finaliser over a golden-ratio step, as compute.Uniform uses.
func mixSeed(seed, k uint64) uint64 {
	z := seed ^ (k+1)*0xD1B54A32D192ED03
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
