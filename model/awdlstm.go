package model

import (
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/compute"
)

// LM is an AWD-LSTM language model (Merity et al. 2017) as ULMFiT pretrains
// and fine-tunes it (Howard & Ruder 2018, section 3):
//
//	x_0   = EmbeddingDropout(encoder.weight)[ids] * InputMask       (T, B, E)
//	h_l   = LSTM_l(x_l; W_ih, WeightDrop(W_hh), b_ih + b_hh)         (T, B, H_l)
//	x_l+1 = h_l * HiddenMask_l                    for l < L-1
//	out   = h_{L-1} * OutputMask                                     (T, B, E)
//	loss  = CE(out * encoder.weight^T + decoder.bias, targets)
//	      + AR * mean(out^2) + TAR * mean((h_{L-1,t} - h_{L-1,t-1})^2)
//
// with the masks of locked dropout shared across time. Inputs are time-major:
// token (t, b) is ids[t*B+b]. Every buffer is a compute.Vec of the model's
// Backend and every operation a Backend kernel, so the model runs unchanged on
// any device.
type LM struct {
	Params *Params // the trainable parameters
	Grads  *Params // their gradients, same layout; ForwardBackward accumulates

	be  compute.Backend
	cfg Config

	p, g tensors // the named views of Params and Grads

	// Per-model scratch, independent of the batch shape.
	whhDrop     []compute.Vec // (4H_l, H_l): the weight-dropped W_hh of the current batch, once used
	whhT        []compute.Vec // (H_l, 4H_l): the current batch's W_hh, transposed for the forward
	transpose   []*transposer // per layer, shared between layers of one shape; nil where the backend needs none
	wMask       []compute.Vec // (4H_l, H_l): the weight-dropout masks on the device, once used
	bias        []compute.Vec // (4H_l): b_ih + b_hh
	dwhh        compute.Vec   // (4H, H) at the largest layer: dL/dW_hh' before the mask
	dbias       compute.Vec   // (4H) at the largest layer
	dbsum       compute.Vec   // (V): decoder bias gradient sums
	maskScratch compute.Vec   // for DrawMasks

	workspaces map[int]*workspace // activation buffers by batch size B
}

// tensors are the views of one Params, resolved once so the hot path does
// no name lookups.
type tensors struct {
	enc, decBias       compute.Vec
	wih, whh, bih, bhh []compute.Vec
}

func viewsOf(p *Params) tensors {
	t := tensors{enc: p.View("encoder.weight"), decBias: p.View("decoder.bias")}
	for l := 0; l < p.cfg.Layers; l++ {
		t.wih = append(t.wih, p.View(layerName(l, "weight_ih")))
		t.whh = append(t.whh, p.View(layerName(l, "weight_hh")))
		t.bih = append(t.bih, p.View(layerName(l, "bias_ih")))
		t.bhh = append(t.bhh, p.View(layerName(l, "bias_hh")))
	}
	return t
}

// decoderChunkFloats bounds the decoder's logits buffer (64 Mi floats, 256
// MiB). Fewer, larger chunks mean fewer passes of the accumulating
// d(encoder.weight) GEMM over the (V, E) matrix and a longer inner dimension
// for it; at the paper's shape (V 60000, T*B 4480) this gives 5 chunks of
// 896 rows.
const decoderChunkFloats = 1 << 26

// largeDecoder is a backend whose memory takes the decoder's logits in
// larger chunks than decoderChunkFloats (compute/cuda): its
// DecoderChunkFloats bounds the logits buffer in place of that constant.
type largeDecoder interface{ DecoderChunkFloats() int }

// chunkFloats is the bound on be's logits buffer.
func chunkFloats(be compute.Backend) int {
	if d, ok := be.(largeDecoder); ok && d.DecoderChunkFloats() > 0 {
		return d.DecoderChunkFloats()
	}
	return decoderChunkFloats
}

// decoderChunk is the rows per decoder pass for N tokens: at most
// floats/V, balanced so that the last chunk is not a sliver.
func decoderChunk(N, V, floats int) int {
	most := max(1, floats/V)
	chunks := (N + most - 1) / most
	return (N + chunks - 1) / chunks
}

// LossParts are the terms of the training loss; their sum is what
// ForwardBackward differentiates. Perplexity is exp(CE).
type LossParts struct {
	CE  float64 // mean cross-entropy over the T*B tokens
	AR  float64 // AR * mean(out^2)
	TAR float64 // TAR * mean((h_t - h_{t-1})^2)
}

// Total is CE + AR + TAR.
func (l LossParts) Total() float64 { return l.CE + l.AR + l.TAR }

// Perplexity is exp(CE).
func (l LossParts) Perplexity() float64 { return math.Exp(l.CE) }

// NewLM builds a model of cfg on be with PyTorch's initialisation drawn from
// seed (see Params.initPyTorch) and zero gradients.
func NewLM(be compute.Backend, cfg Config, seed uint64) (*LM, error) {
	params, err := NewParams(be, cfg)
	if err != nil {
		return nil, err
	}
	grads, err := NewParams(be, cfg)
	if err != nil {
		return nil, err
	}
	params.initPyTorch(seed)
	return newLMOn(params, grads), nil
}

// newLMOn builds the model over existing parameters and gradients of one
// layout, which may hold tensors beyond the language model's (a
// classifier's head); the model reads only its own.
func newLMOn(params, grads *Params) *LM {
	be, cfg := params.be, params.cfg
	m := &LM{Params: params, Grads: grads, be: be, cfg: cfg,
		p: viewsOf(params), g: viewsOf(grads),
		workspaces: map[int]*workspace{}}
	maxG := 0
	transposers := map[int]*transposer{}
	transpose := needsTranspose(be)
	for l := 0; l < cfg.Layers; l++ {
		_, h := cfg.LayerSizes(l)
		m.bias = append(m.bias, be.Alloc(4*h))
		if transpose {
			m.whhT = append(m.whhT, be.Alloc(4*h*h))
			if transposers[h] == nil {
				transposers[h] = newTransposer(be, 4*h, h)
			}
			m.transpose = append(m.transpose, transposers[h])
		} else {
			m.whhT = append(m.whhT, compute.Vec{})
			m.transpose = append(m.transpose, nil)
		}
		maxG = max(maxG, h)
	}
	// The weight-dropout buffers come with the first weight mask.
	m.whhDrop = make([]compute.Vec, cfg.Layers)
	m.wMask = make([]compute.Vec, cfg.Layers)
	m.dwhh = be.Alloc(4 * maxG * maxG)
	m.dbias = be.Alloc(4 * maxG)
	m.dbsum = be.Alloc(cfg.Vocab)
	return m
}

// Config is the model's configuration.
func (m *LM) Config() Config { return m.cfg }

// Backend is the backend the model runs on.
func (m *LM) Backend() compute.Backend { return m.be }

// ZeroGrads sets every gradient to 0.
func (m *LM) ZeroGrads() { m.Grads.Zero() }

// State is the recurrent state (h, c) of every layer for B sequences, carried
// from one batch to the next. Gradients never cross it (truncated BPTT).
type State struct {
	B    int
	be   compute.Backend
	h, c []compute.Vec // per layer (B, H_l)
}

// NewState returns a zero state for batch sequences.
func (m *LM) NewState(batch int) *State {
	s := &State{B: batch, be: m.be}
	for l := 0; l < m.cfg.Layers; l++ {
		_, h := m.cfg.LayerSizes(l)
		s.h = append(s.h, m.be.Alloc(batch*h))
		s.c = append(s.c, m.be.Alloc(batch*h))
	}
	return s
}

// Reset zeroes the state (start of an epoch or of a new document).
func (s *State) Reset() {
	for l := range s.h {
		s.be.Fill(s.h[l], 0)
		s.be.Fill(s.c[l], 0)
	}
}

// Layer copies layer l's (h, c), each (B, H_l), to the host.
func (s *State) Layer(l int) (h, c []float32) {
	h = make([]float32, s.h[l].N)
	c = make([]float32, s.c[l].N)
	s.be.Download(h, s.h[l])
	s.be.Download(c, s.c[l])
	return h, c
}

// SetLayer sets layer l's (h, c), each (B, H_l), from the host.
func (s *State) SetLayer(l int, h, c []float32) error {
	if l < 0 || l >= len(s.h) {
		return fmt.Errorf("model: state: layer %d, want 0..%d", l, len(s.h)-1)
	}
	if len(h) != s.h[l].N || len(c) != s.c[l].N {
		return fmt.Errorf("model: state: layer %d takes h and c of %d elements (B*H_l), got %d and %d", l, s.h[l].N, len(h), len(c))
	}
	s.be.Upload(s.h[l], h)
	s.be.Upload(s.c[l], c)
	return nil
}

// workspace holds the activations of a (T, B) batch, allocated for up to
// capT steps and reused: shorter batches (variable-length BPTT) use the
// leading T blocks of each time-major buffer.
type workspace struct {
	B, capT int

	ids, targets compute.IVec  // (T*B)
	emb          compute.Vec   // (T, B, E): the embedded, input-dropped tokens
	dropped      []compute.Vec // layer l >= 1: (T, B, In_l) the hidden-dropped input; [0] unused
	gates        []compute.Vec // (T, B, 4H_l): gate activations
	hs, cs       []compute.Vec // (T+1, B, H_l): states, initial one first
	out          compute.Vec   // (T, B, E): the output-dropped last layer
	dgates       compute.Vec   // (T, B, 4H) at the largest layer, shared by the layers (unless ownDgates)
	dgatesL      []compute.Vec // per layer: its dL/d(gates), views of dgates or buffers of their own
	ownDgates    bool          // each layer has its own: its weight gradients may run beside the next layer's backward
	dA, dB       compute.Vec   // (T, B, max(E, H)): gradients flowing down, alternating
	dc           compute.Vec   // (B, H) at the largest layer
	diff         compute.Vec   // (T-1, B, E): TAR's differences
	logits       lazyVec       // (decoderChunk rows, V), allocated on first use
	losses       compute.Vec   // (T*B)
	lossHost     []float32

	masks  deviceMasks
	inputs []compute.Vec // per layer: this batch's input view, for the backward
	whh    []compute.Vec // per layer: this batch's (possibly dropped) W_hh
}

// deviceMasks are a batch's masks on the device; an empty Vec is no dropout.
type deviceMasks struct {
	embedRows, input, output compute.Vec
	hidden, weight           []compute.Vec

	embedBuf, inputBuf, outputBuf compute.Vec
	hiddenBuf                     []compute.Vec
}

func (m *LM) workspace(T, B int) *workspace {
	ws := m.workspaces[B]
	if ws != nil && ws.capT >= T {
		return ws
	}
	if ws != nil {
		m.freeWorkspace(ws)
	}
	ws = m.newWorkspace(T, B)
	m.workspaces[B] = ws
	return ws
}

// reserve sizes the workspace of batch B for up to T steps ahead of use.
func (m *LM) reserve(T, B int) { m.workspace(T, B) }

func (m *LM) newWorkspace(T, B int) *workspace {
	be, cfg := m.be, m.cfg
	L, E, V, N := cfg.Layers, cfg.Emb, cfg.Vocab, T*B
	ws := &workspace{B: B, capT: T}
	ws.ids, ws.targets = be.AllocInt(N), be.AllocInt(N)
	ws.emb = be.Alloc(N * E)
	maxH, maxW := 0, E
	for l := 0; l < L; l++ {
		in, h := cfg.LayerSizes(l)
		maxH, maxW = max(maxH, h), max(maxW, h)
		if l > 0 {
			ws.dropped = append(ws.dropped, be.Alloc(N*in))
		} else {
			ws.dropped = append(ws.dropped, compute.Vec{})
		}
		ws.gates = append(ws.gates, be.Alloc(N*4*h))
		ws.hs = append(ws.hs, be.Alloc((T+1)*B*h))
		ws.cs = append(ws.cs, be.Alloc((T+1)*B*h))
	}
	ws.out = be.Alloc(N * E)
	if w, ok := be.(besideWork); ok && w.BesideOn() {
		// The layers' weight gradients run beside the layer below's
		// backward (backwardLayers), which must not overwrite their input.
		ws.ownDgates = true
		for l := 0; l < L; l++ {
			_, h := cfg.LayerSizes(l)
			ws.dgatesL = append(ws.dgatesL, be.Alloc(N*4*h))
		}
	} else {
		ws.dgates = be.Alloc(N * 4 * maxH)
		for l := 0; l < L; l++ {
			_, h := cfg.LayerSizes(l)
			ws.dgatesL = append(ws.dgatesL, ws.dgates.Slice(0, N*4*h))
		}
	}
	ws.dA, ws.dB = be.Alloc(N*maxW), be.Alloc(N*maxW)
	ws.dc = be.Alloc(B * maxH)
	ws.diff = be.Alloc(max(0, (T-1)*B*E))
	// decoderChunk(n, V, f) <= min(n, f/V) for every n <= N.
	ws.logits = lazyVec{n: min(N, max(1, chunkFloats(be)/V)) * V}
	ws.losses = be.Alloc(N)
	ws.lossHost = make([]float32, N)
	dm := &ws.masks
	dm.embedBuf, dm.inputBuf, dm.outputBuf = be.Alloc(V), be.Alloc(B*E), be.Alloc(B*E)
	for l := 0; l < L-1; l++ {
		_, h := cfg.LayerSizes(l)
		dm.hiddenBuf = append(dm.hiddenBuf, be.Alloc(B*h))
	}
	dm.hidden = make([]compute.Vec, L-1)
	dm.weight = make([]compute.Vec, L)
	ws.inputs = make([]compute.Vec, L)
	ws.whh = make([]compute.Vec, L)
	return ws
}

func (m *LM) freeWorkspace(ws *workspace) {
	be := m.be
	be.FreeInt(ws.ids)
	be.FreeInt(ws.targets)
	for _, v := range []compute.Vec{ws.emb, ws.out, ws.dgates, ws.dA, ws.dB, ws.dc, ws.diff, ws.logits.v, ws.losses,
		ws.masks.embedBuf, ws.masks.inputBuf, ws.masks.outputBuf} {
		be.Free(v)
	}
	for l := range ws.gates {
		if ws.ownDgates {
			be.Free(ws.dgatesL[l])
		}
		be.Free(ws.dropped[l])
		be.Free(ws.gates[l])
		be.Free(ws.hs[l])
		be.Free(ws.cs[l])
	}
	for _, v := range ws.masks.hiddenBuf {
		be.Free(v)
	}
}

// setMasks uploads the host masks (nil: none) into the workspace and the
// model's weight-mask buffers.
func (m *LM) setMasks(ws *workspace, ms *Masks) {
	dm := &ws.masks
	if ms == nil {
		ms = &Masks{}
	}
	if ms.OnDevice {
		m.drawDeviceMasks(ws, ms)
		return
	}
	dm.embedRows = deviceMask(m.be, dm.embedBuf, ms.EmbedRows)
	dm.input = deviceMask(m.be, dm.inputBuf, ms.Input)
	dm.output = deviceMask(m.be, dm.outputBuf, ms.Output)
	for l := range dm.hidden {
		dm.hidden[l] = compute.Vec{}
		if ms.Hidden != nil {
			dm.hidden[l] = deviceMask(m.be, dm.hiddenBuf[l], ms.Hidden[l])
		}
	}
	for l := range dm.weight {
		dm.weight[l] = compute.Vec{}
		if ms.Weight == nil || ms.Weight[l] == nil {
			continue
		}
		if m.wMask[l].N == 0 {
			m.wMask[l] = m.be.Alloc(len(ms.Weight[l]))
			m.whhDrop[l] = m.be.Alloc(len(ms.Weight[l]))
		}
		dm.weight[l] = deviceMask(m.be, m.wMask[l], ms.Weight[l])
	}
}

// drawDeviceMasks draws a batch's masks on the device with the seeds
// DrawMasksInto uses, so both give the same values.
func (m *LM) drawDeviceMasks(ws *workspace, ms *Masks) {
	dm, cfg, be := &ws.masks, m.cfg, m.be
	B, seed := ws.B, ms.Seed
	dm.embedRows = deviceDrawn(be, dm.embedBuf, cfg.Vocab, cfg.EmbeddingDropout, mixSeed(seed, seedEmbedRows))
	dm.input = deviceDrawn(be, dm.inputBuf, B*cfg.Emb, cfg.InputDropout, mixSeed(seed, seedInput))
	dm.output = compute.Vec{}
	if !ms.NoOutput {
		dm.output = deviceDrawn(be, dm.outputBuf, B*cfg.Emb, cfg.OutputDropout, mixSeed(seed, seedOutput))
	}
	for l := range dm.hidden {
		_, h := cfg.LayerSizes(l)
		dm.hidden[l] = deviceDrawn(be, dm.hiddenBuf[l], B*h, cfg.HiddenDropout, mixSeed(seed, seedHidden+uint64(l)))
	}
	for l := range dm.weight {
		_, h := cfg.LayerSizes(l)
		dm.weight[l] = compute.Vec{}
		if cfg.WeightDropout == 0 {
			continue
		}
		if m.wMask[l].N == 0 {
			m.wMask[l] = be.Alloc(4 * h * h)
			m.whhDrop[l] = be.Alloc(4 * h * h)
		}
		dm.weight[l] = deviceDrawn(be, m.wMask[l], 4*h*h, cfg.WeightDropout, mixSeed(seed, seedWeight+uint64(l)))
	}
	// The seeds change every step; a GPU backend that replays repeated work
	// as one graph then sees the same work after this point every step.
	be.Sync()
}

// begin validates a batch and loads its tokens into the workspace.
func (m *LM) begin(op string, ids, targets []int32, T, B int, ms *Masks, st *State) (*workspace, error) {
	if T < 1 || B < 1 {
		return nil, fmt.Errorf("model: %s: T = %d and B = %d, want both at least 1", op, T, B)
	}
	N := T * B
	if len(ids) != N || len(targets) != N {
		return nil, fmt.Errorf("model: %s: got %d ids and %d targets, want T*B = %d*%d = %d of each", op, len(ids), len(targets), T, B, N)
	}
	if err := m.checkTokens(op, "ids", ids); err != nil {
		return nil, err
	}
	if err := m.checkTokens(op, "targets", targets); err != nil {
		return nil, err
	}
	if err := m.checkState(op, st, B); err != nil {
		return nil, err
	}
	if ms != nil {
		if err := ms.validate(m.cfg, B); err != nil {
			return nil, fmt.Errorf("model: %s: %w", op, err)
		}
	}
	ws := m.workspace(T, B)
	m.be.UploadInt(ws.ids.Slice(0, N), ids)
	m.be.UploadInt(ws.targets.Slice(0, N), targets)
	m.setMasks(ws, ms)
	return ws, nil
}

func (m *LM) checkTokens(op, what string, toks []int32) error {
	V := int32(m.cfg.Vocab)
	for i, id := range toks {
		if id < 0 || id >= V {
			return fmt.Errorf("model: %s: %s[%d] = %d, want a token id in [0, %d)", op, what, i, id, V)
		}
	}
	return nil
}

func (m *LM) checkState(op string, st *State, B int) error {
	if st == nil {
		return fmt.Errorf("model: %s: nil state (make one with NewState)", op)
	}
	if st.B != B {
		return fmt.Errorf("model: %s: state is for %d sequences, batch has B = %d", op, st.B, B)
	}
	if len(st.h) != m.cfg.Layers {
		return fmt.Errorf("model: %s: state has %d layers, model has %d", op, len(st.h), m.cfg.Layers)
	}
	for l := range st.h {
		if _, h := m.cfg.LayerSizes(l); st.h[l].N != B*h {
			return fmt.Errorf("model: %s: state layer %d has %d elements, want B*H = %d", op, l, st.h[l].N, B*h)
		}
	}
	return nil
}

// forward runs the encoder (embedding, dropouts, LSTM stack) from st and
// advances st. It leaves the last layer's raw output in ws.hs and the
// dropped one, the decoder's input, in the returned view (T, B, E).
func (m *LM) forward(ws *workspace, T, B int, st *State) compute.Vec {
	be, cfg, dm := m.be, m.cfg, &ws.masks
	N, E := T*B, cfg.Emb
	x := ws.emb.Slice(0, N*E)
	embeddingForward(be, x, m.p.enc, ws.ids.Slice(0, N), dm.embedRows, E)
	if dm.input.N != 0 {
		lockedDropoutForward(be, x, x, dm.input)
	}
	for l := 0; l < cfg.Layers; l++ {
		in, h := cfg.LayerSizes(l)
		s := lstmShape{T: T, B: B, In: in, H: h}
		hs, cs := ws.hs[l].Slice(0, (T+1)*B*h), ws.cs[l].Slice(0, (T+1)*B*h)
		be.Copy(step(hs, 0, B, h), st.h[l])
		be.Copy(step(cs, 0, B, h), st.c[l])
		whh := m.p.whh[l]
		if dm.weight[l].N != 0 {
			weightDropForward(be, m.whhDrop[l], whh, dm.weight[l])
			whh = m.whhDrop[l]
		}
		recurrent, transposed := whh, m.transpose[l] != nil
		if transposed {
			m.transpose[l].apply(be, m.whhT[l], whh)
			recurrent = m.whhT[l]
		}
		be.Copy(m.bias[l], m.p.bih[l])
		be.Axpy(1, m.p.bhh[l], m.bias[l])
		lstmForward(be, s, x, m.p.wih[l], recurrent, transposed, m.bias[l], ws.gates[l].Slice(0, N*4*h), hs, cs)
		ws.inputs[l], ws.whh[l] = x, whh
		be.Copy(st.h[l], step(hs, T, B, h))
		be.Copy(st.c[l], step(cs, T, B, h))

		x = hs.Slice(B*h, (T+1)*B*h)
		mask, dst := dm.output, ws.out
		if l < cfg.Layers-1 {
			mask, dst = dm.hidden[l], ws.dropped[l+1]
		}
		if mask.N != 0 {
			y := dst.Slice(0, N*h)
			lockedDropoutForward(be, y, x, mask)
			x = y
		}
	}
	return x
}

// rawOutput is the last layer's output before output dropout, (T, B, E).
func (m *LM) rawOutput(ws *workspace, T, B int) compute.Vec {
	return ws.hs[m.cfg.Layers-1].Slice(B*m.cfg.Emb, (T+1)*B*m.cfg.Emb)
}

// ForwardBackward runs one training batch: T steps of B sequences,
// time-major ids and targets (token (t, b) at t*B+b), the given masks (nil:
// no dropout) and the state st, which it advances. It returns the loss terms
// and adds their gradients to m.Grads; the caller zeroes them (ZeroGrads).
func (m *LM) ForwardBackward(ids, targets []int32, T, B int, masks *Masks, st *State) (LossParts, error) {
	ws, err := m.begin("ForwardBackward", ids, targets, T, B, masks, st)
	if err != nil {
		return LossParts{}, err
	}
	be, cfg, dm := m.be, m.cfg, &ws.masks
	N, E := T*B, cfg.Emb
	out := m.forward(ws, T, B, st)
	hraw := m.rawOutput(ws, T, B)

	var parts LossParts
	dh := ws.dA.Slice(0, N*E)
	ds := decoderShape{N: N, V: cfg.Vocab, E: E, Chunk: decoderChunk(N, cfg.Vocab, chunkFloats(be))}
	decoderForward(be, ds, out, m.p.enc, m.p.decBias, ws.targets.Slice(0, N), &ws.logits, ws.losses.Slice(0, N),
		1/float32(N), dh, m.g.enc, m.g.decBias, m.dbsum)
	arBackward(be, cfg.AR, out, dh)
	if dm.output.N != 0 {
		lockedDropoutBackward(be, dh, dh, dm.output)
	}
	tarBackward(be, cfg.TAR, hraw, B*E, ws.diff, dh)
	m.backwardLayers(ws, T, B, 0)
	// The three sums the host reads back come last: a read-back waits for
	// the device, and here it waits once for the whole step instead of
	// holding the backward pass until the host has the loss. Nothing in the
	// backward writes what they read (the losses, out, the last layer's
	// states, TAR's differences in ws.diff).
	parts.CE = m.meanLoss(ws, N)
	parts.AR = arLoss(be, cfg.AR, out)
	parts.TAR = tarLoss(be, cfg.TAR, hraw, B*E, ws.diff)
	return parts, nil
}

// backwardLayers runs the encoder's backward from the gradient of the last
// layer's output (T, B, E), which the caller has left in ws.dA, down to
// parameter group lowest (Params.Groups: 0 the embedding, l+1 LSTM l):
// gradients are accumulated into m.Grads for the groups lowest and up, and
// nothing flows further down, so frozen bottom layers cost no backward.
func (m *LM) backwardLayers(ws *workspace, T, B, lowest int) {
	be, cfg, dm := m.be, m.cfg, &ws.masks
	N := T * B
	dh := ws.dA.Slice(0, N*cfg.Emb)
	stop := max(lowest-1, 0) // the lowest layer the gradient must reach
	// dh and dx alternate between the two full-size buffers dA and dB.
	bufs := [2]compute.Vec{ws.dA, ws.dB}
	// Each layer's weight gradients may run beside the layers below
	// (besideWork) where the workspace gave each layer its own dL/d(gates):
	// they read only that, the layer's input and states, and write only
	// the layer's gradients, which nothing reads before the join below.
	var side besideWork
	if w, ok := be.(besideWork); ok && ws.ownDgates {
		side = w
	}
	for l, cur := cfg.Layers-1, 0; l >= stop; l, cur = l-1, 1-cur {
		in, h := cfg.LayerSizes(l)
		s := lstmShape{T: T, B: B, In: in, H: h}
		G := 4 * h
		dx := bufs[1-cur].Slice(0, N*in)
		if l == stop && lowest > 0 {
			dx = compute.Vec{} // the layers below are frozen
		}
		dwhh, accumulate := m.g.whh[l], dm.weight[l].N == 0
		if !accumulate {
			dwhh = m.dwhh.Slice(0, G*h)
		}
		dbias := m.dbias.Slice(0, G)
		lstmBackward(be, s, ws.inputs[l], m.p.wih[l], ws.whh[l], ws.gates[l].Slice(0, N*G),
			ws.hs[l].Slice(0, (T+1)*B*h), ws.cs[l].Slice(0, (T+1)*B*h),
			dh, ws.dgatesL[l], ws.dc.Slice(0, B*h), dx, m.g.wih[l], dwhh, dbias, accumulate, side)
		if !accumulate {
			// Beside, after the weight gradient it reads (m.dwhh is the
			// side's alone: the layers use it one after another there).
			if side != nil {
				side.BeginBeside()
			}
			weightDropBackward(be, m.g.whh[l], dwhh, dm.weight[l])
			if side != nil {
				side.EndBeside()
			}
		}
		be.Axpy(1, dbias, m.g.bih[l])
		be.Axpy(1, dbias, m.g.bhh[l])
		mask := dm.input
		if l > 0 {
			mask = dm.hidden[l-1]
		}
		if mask.N != 0 && dx.N != 0 {
			lockedDropoutBackward(be, dx, dx, mask)
		}
		dh = dx
	}
	joinBeside(be) // the decoder's last d(encoder.weight) and the layers' weight gradients are complete from here
	if lowest == 0 {
		embeddingBackward(be, m.g.enc, dh, ws.ids.Slice(0, N), dm.embedRows, cfg.Emb)
	}
}

// Evaluate runs a batch in evaluation mode (no dropout, no AR/TAR, no
// gradients), advances st and returns the mean cross-entropy over the T*B
// tokens.
func (m *LM) Evaluate(ids, targets []int32, T, B int, st *State) (float64, error) {
	ws, err := m.begin("Evaluate", ids, targets, T, B, nil, st)
	if err != nil {
		return 0, err
	}
	N := T * B
	out := m.forward(ws, T, B, st)
	ds := decoderShape{N: N, V: m.cfg.Vocab, E: m.cfg.Emb, Chunk: decoderChunk(N, m.cfg.Vocab, chunkFloats(m.be))}
	decoderForward(m.be, ds, out, m.p.enc, m.p.decBias, ws.targets.Slice(0, N), &ws.logits, ws.losses.Slice(0, N),
		1, compute.Vec{}, compute.Vec{}, compute.Vec{}, compute.Vec{})
	return m.meanLoss(ws, N), nil
}

// meanLoss averages the per-token losses in float64 on the host.
func (m *LM) meanLoss(ws *workspace, N int) float64 {
	host := ws.lossHost[:N]
	m.be.Download(host, ws.losses.Slice(0, N))
	var sum float64
	for _, v := range host {
		sum += float64(v)
	}
	return sum / float64(N)
}

// Logits writes the decoder's logits for a batch into dst (T*B*V on the
// host; row t*B+b is token (t, b)): the forward pass of ForwardBackward with
// the given masks, or of evaluation mode when masks is nil, advancing st.
// It exists for small batches (inspection, sampling, reference checks); the
// training path never materialises all the logits.
func (m *LM) Logits(dst []float32, ids []int32, T, B int, masks *Masks, st *State) error {
	V := m.cfg.Vocab
	if len(dst) != T*B*V {
		return fmt.Errorf("model: Logits: dst has %d elements, want T*B*V = %d*%d*%d", len(dst), T, B, V)
	}
	ws, err := m.begin("Logits", ids, ids, T, B, masks, st)
	if err != nil {
		return err
	}
	N, E := T*B, m.cfg.Emb
	out := m.forward(ws, T, B, st)
	chunk := decoderChunk(N, V, chunkFloats(m.be))
	for r0 := 0; r0 < N; r0 += chunk {
		n := min(chunk, N-r0)
		lg := ws.logits.get(m.be).Slice(0, n*V)
		m.be.Gemm(false, true, n, V, E, 1, out.Slice(r0*E, (r0+n)*E), E, m.p.enc, E, 0, lg, V)
		m.be.AddRowVector(lg, m.p.decBias, n, V)
		m.be.Download(dst[r0*V:(r0+n)*V], lg)
	}
	return nil
}
