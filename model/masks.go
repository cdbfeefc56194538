package model

import (
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Masks are the dropout masks of one batch, as host slices of inverted-dropout
// scales (0 or 1/(1-p)). A nil field, or a nil entry of Hidden or Weight,
// means no dropout there. Callers that need exact control (a reference
// implementation, a test) build them by hand; training draws them with
// DrawMasks.
type Masks struct {
	EmbedRows []float32   // (V): embedding dropout, one scale per word row
	Input     []float32   // (B*E): locked dropout on the embedded input
	Hidden    [][]float32 // L-1 entries of (B*H_l): locked dropout on layer l's output, before layer l+1
	Output    []float32   // (B*E): locked dropout on the last layer's output
	Weight    [][]float32 // L entries of (4*H_l*H_l): weight dropout on rnn.<l>.weight_hh

	// OnDevice, when set, makes ForwardBackward draw every mask itself at the
	// config's rates from Seed, straight into device memory: the same values
	// DrawMasks(B, Seed) gives, without their trip through the host (45 MB a
	// step at the paper's shape, a third of a GPU step). The slices above are
	// then ignored.
	OnDevice bool
	Seed     uint64
	// NoOutput, with OnDevice, leaves out the output mask: the classifier's
	// head drops the pooled features instead.
	NoOutput bool
}

// DeviceMasks are the masks DrawMasks(B, seed) would give, drawn on the
// device by ForwardBackward itself.
func DeviceMasks(seed uint64) *Masks { return &Masks{OnDevice: true, Seed: seed} }

// Sub-seed slots of the mask kinds, so every mask draws an independent stream.
const (
	seedEmbedRows = iota
	seedInput
	seedOutput
	seedHidden = 1 << 10 // + layer
	seedWeight = 2 << 10 // + layer
)

// DrawMasks draws the masks of a batch of B sequences at the config's rates
// with the Backend's DropoutMask: a counter-based generator, so the masks
// depend only on (seed, B, config) and match across backends. A rate of 0
// gives a nil mask.
func (m *LM) DrawMasks(B int, seed uint64) *Masks {
	ms := &Masks{}
	m.DrawMasksInto(ms, B, seed)
	return ms
}

// DrawMasksInto is DrawMasks reusing ms's slices where their lengths fit, so
// a training loop draws without allocating (at the paper's shape the weight
// masks alone are 45 MB a batch).
func (m *LM) DrawMasksInto(ms *Masks, B int, seed uint64) {
	cfg := m.cfg
	ms.EmbedRows = m.drawMask(ms.EmbedRows, cfg.Vocab, cfg.EmbeddingDropout, mixSeed(seed, seedEmbedRows))
	ms.Input = m.drawMask(ms.Input, B*cfg.Emb, cfg.InputDropout, mixSeed(seed, seedInput))
	ms.Output = m.drawMask(ms.Output, B*cfg.Emb, cfg.OutputDropout, mixSeed(seed, seedOutput))
	ms.Hidden = resizeMasks(ms.Hidden, cfg.Layers-1, cfg.HiddenDropout)
	for l := range ms.Hidden {
		_, h := cfg.LayerSizes(l)
		ms.Hidden[l] = m.drawMask(ms.Hidden[l], B*h, cfg.HiddenDropout, mixSeed(seed, seedHidden+uint64(l)))
	}
	ms.Weight = resizeMasks(ms.Weight, cfg.Layers, cfg.WeightDropout)
	for l := range ms.Weight {
		_, h := cfg.LayerSizes(l)
		ms.Weight[l] = m.drawMask(ms.Weight[l], 4*h*h, cfg.WeightDropout, mixSeed(seed, seedWeight+uint64(l)))
	}
}

func resizeMasks(s [][]float32, n int, p float32) [][]float32 {
	if p == 0 || n == 0 {
		return nil
	}
	if len(s) != n {
		return make([][]float32, n)
	}
	return s
}

// drawMask fills dst (reallocated when its length is not n) with a mask of
// rate p, through the device scratch buffer.
func (m *LM) drawMask(dst []float32, n int, p float32, seed uint64) []float32 {
	if p == 0 {
		return nil
	}
	if len(dst) != n {
		dst = make([]float32, n)
	}
	if m.maskScratch.N < n {
		m.be.Free(m.maskScratch)
		m.maskScratch = m.be.Alloc(n)
	}
	s := m.maskScratch.Slice(0, n)
	m.be.DropoutMask(s, p, seed)
	m.be.Download(dst, s)
	return dst
}

// validate checks every mask's length against the config and batch size.
// Names are formatted only on failure: this runs on every training step.
func (ms *Masks) validate(cfg Config, B int) error {
	if ms.OnDevice {
		return nil
	}
	bad := func(name string, got, want int) error {
		return fmt.Errorf("model: masks: %s has %d elements, want %d", name, got, want)
	}
	if ms.EmbedRows != nil && len(ms.EmbedRows) != cfg.Vocab {
		return bad("EmbedRows", len(ms.EmbedRows), cfg.Vocab)
	}
	if ms.Input != nil && len(ms.Input) != B*cfg.Emb {
		return bad("Input", len(ms.Input), B*cfg.Emb)
	}
	if ms.Output != nil && len(ms.Output) != B*cfg.Emb {
		return bad("Output", len(ms.Output), B*cfg.Emb)
	}
	if ms.Hidden != nil && len(ms.Hidden) != cfg.Layers-1 {
		return fmt.Errorf("model: masks: Hidden has %d layers, want %d (Layers-1) or nil", len(ms.Hidden), cfg.Layers-1)
	}
	for l, v := range ms.Hidden {
		if _, h := cfg.LayerSizes(l); v != nil && len(v) != B*h {
			return bad(fmt.Sprintf("Hidden[%d]", l), len(v), B*h)
		}
	}
	if ms.Weight != nil && len(ms.Weight) != cfg.Layers {
		return fmt.Errorf("model: masks: Weight has %d layers, want %d (Layers) or nil", len(ms.Weight), cfg.Layers)
	}
	for l, v := range ms.Weight {
		if _, h := cfg.LayerSizes(l); v != nil && len(v) != 4*h*h {
			return bad(fmt.Sprintf("Weight[%d]", l), len(v), 4*h*h)
		}
	}
	return nil
}

// deviceMask uploads a host mask into dev and returns the view to use, or the
// empty Vec when host is nil (no dropout).
func deviceMask(be compute.Backend, dev compute.Vec, host []float32) compute.Vec {
	if host == nil {
		return compute.Vec{}
	}
	v := dev.Slice(0, len(host))
	be.Upload(v, host)
	return v
}

// deviceDrawn draws a mask of n elements at rate p into dev (nil Vec at rate 0).
func deviceDrawn(be compute.Backend, dev compute.Vec, n int, p float32, seed uint64) compute.Vec {
	if p == 0 {
		return compute.Vec{}
	}
	v := dev.Slice(0, n)
	be.DropoutMask(v, p, seed)
	return v
}
