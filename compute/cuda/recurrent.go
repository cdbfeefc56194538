package cuda

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The LSTM's recurrence is 70 small products a layer (B=64 rows against
// W_hh) and 70 cell kernels, each too small to fill the card. The backend
// runs it one of three ways (Options.Recurrence), and the model hands it
// each layer's whole recurrence (LSTMRecurrentForward, LSTMRecurrentBackward)
// so that it can:
//
//   - per-step: the model's own loop (model/lstm.go), each product on
//     cuBLAS with float32 operands in the precision's arithmetic (at BF16,
//     CUBLAS_COMPUTE_32F_FAST_16BF, which rounds them to bfloat16 inside);
//   - per-step on bfloat16 storage (BF16 only): the same loop here, on
//     bfloat16 copies of W_hh (made once a batch) and of h_t and the gates'
//     gradients (written by the cell kernels beside their float32 values),
//     so each step's product reads half the bytes; the rounding is the same
//     as FAST_16BF's, to nearest;
//   - persistent (BF16 and TF32, forward only): one cooperative launch a
//     layer that keeps each block's rows of W_hh in shared memory across the
//     steps (recurrent.cu).
//
// RecurrentPath reports which ran. compute/cuda/NOTES.md has the
// measurements that set RecurrenceAuto.

// Recurrence picks how the LSTM layers' recurrences run.
type Recurrence uint8

const (
	// RecurrenceAuto is per-step on bfloat16 storage at BF16; at TF32 the
	// persistent kernel where it is faster (recurrentAutoChunks), else
	// per-step; per-step at FP32.
	RecurrenceAuto Recurrence = iota
	// RecurrencePerStep is the model's loop at every precision.
	RecurrencePerStep
	// RecurrencePersistent runs the forward recurrence in the persistent
	// kernel where it fits (planRecurrent), else as RecurrenceAuto.
	RecurrencePersistent
)

// ParseRecurrence reads "auto", "per-step" or "persistent".
func ParseRecurrence(s string) (Recurrence, error) {
	for r, name := range recurrenceNames {
		if s == name {
			return Recurrence(r), nil
		}
	}
	return 0, fmt.Errorf("cuda: unknown recurrence %q: want auto, per-step or persistent", s)
}

var recurrenceNames = []string{"auto", "per-step", "persistent"}

func (r Recurrence) String() string {
	if int(r) < len(recurrenceNames) {
		return recurrenceNames[r]
	}
	return fmt.Sprintf("Recurrence(%d)", uint8(r))
}

// recurrentSource is the CUDA C of the persistent recurrence and of the
// cell kernels that write bfloat16 copies.
//
//go:embed recurrent.cu
var recurrentSource string

const (
	recurrentThreads = 512 // REC_THREADS in recurrent.cu
	recurrentWarps   = recurrentThreads / 32
	recurrentMaxN    = 8 // REC_MAXN: n-tiles of 8 gate rows, so at most 16 units a block
	recurrentStages  = 3 // REC_STAGES: chunks of h_{t-1} in flight or in use
)

// recurrentAutoChunks: RecurrenceAuto runs the persistent kernel at TF32
// where h_{t-1} streams through at most this many chunks a step. Every
// block reads all of h_{t-1} from L2 each step, and the products' time
// follows its size. On an H200 (2026-12-04, TestProfileRecurrent: T=70, one
// layer's forward recurrence, each way replayed as a graph as in training)
// tf32 at B=64, H=400 (4 chunks) took 0.746 ms persistent against 0.862 per
// step; bf16 at B=64, H=1152 (5 chunks) 1.134 against 0.865 per step on
// float32 storage and 0.623 on bfloat16 storage, and at H=400 0.575 against
// 0.467 on bfloat16 storage, so at BF16 Auto never runs it; tf32 at H=1152
// fits only in 36 chunks of 32 words beside its float32 weights.
const recurrentAutoChunks = 4

// recurrentKernels are the entry points of recurrent.cu and what the device
// allows them.
type recurrentKernels struct {
	forwardBF16, forwardTF32 uintptr // the persistent forward
	cellBF16H, cellBackParts uintptr // the cell kernels of the per-step paths (recurrent.cu)
	coop                     bool    // the device launches cooperative kernels
	sharedMax                int     // bytes of shared memory a block may ask for
}

func (k *recurrentKernels) resolve(b *Backend) error {
	if err := b.resolveKernels([]kernelEntry{
		{&k.forwardBF16, "lstm_recurrent_forward_bf16"}, {&k.forwardTF32, "lstm_recurrent_forward_tf32"},
		{&k.cellBF16H, "lstm_forward_bf16h"}, {&k.cellBackParts, "lstm_backward_parts"},
	}); err != nil {
		return err
	}
	d := &b.lib.drv
	coop, err := d.attribute(b.dev, attrCooperativeLaunch)
	if err != nil {
		return err
	}
	shared, err := d.attribute(b.dev, attrSharedOptin)
	if err != nil {
		return err
	}
	k.coop, k.sharedMax = coop != 0, shared
	for _, fn := range []uintptr{k.forwardBF16, k.forwardTF32} {
		if err := d.err("cuFuncSetAttribute", call(d.cuFuncSetAttribute, fn, funcAttrMaxDynamicShared, uintptr(shared))); err != nil {
			return err
		}
	}
	return nil
}

// recurrentBuffers are the recurrences' scratch: the grid barrier's
// counter, the bfloat16 copies of h (2, B, H: step t reads block t%2, its
// cell writes the other), of W_hh (4H, H) and of one step's gate gradients
// (B, 4H).
type recurrentBuffers struct {
	barrier, hbf, wbf, dgbf compute.Vec
	parts                   compute.Vec // the backward's four partial products of a step (4, B, H)
	// clock, when a test sets it, gets block 0's time at four points of
	// each step (recurrent.cu), 2 words each.
	clock compute.Vec
}

// recurrentPaths records the ways the layers' recurrences ran and at which
// hidden sizes, for RecurrentPath.
type recurrentPaths struct {
	runs map[string][]int // "forward persistent", "backward per-step bf16", ...: the sizes H, ascending
	why  string           // why the last forward considered for the persistent kernel did not run in it
}

func (p *recurrentPaths) count(path string, H int) {
	if p.runs == nil {
		p.runs = map[string][]int{}
	}
	if hs := p.runs[path]; !slices.Contains(hs, H) {
		hs = append(hs, H)
		slices.Sort(hs)
		p.runs[path] = hs
	}
}

// recurrentPlan is lstm_recurrent_forward's layout for a shape.
type recurrentPlan struct {
	units, blocks int // hidden units a block, blocks
	chunk, chunks int // words of a row of h_{t-1} a chunk streams (kcw); chunks a step
	shared        int // bytes of dynamic shared memory
}

// planRecurrent lays out a batch of B rows and H hidden units, or says why
// the persistent kernel cannot run them.
func (b *Backend) planRecurrent(B, H int) (recurrentPlan, string) {
	var p recurrentPlan
	switch {
	case b.opts.Precision == FP32:
		return p, "fp32 products stay on cuBLAS"
	case !b.rk.coop:
		return p, "the device has no cooperative launch"
	case B < 1 || B > 16*recurrentWarps:
		return p, fmt.Sprintf("batch %d is outside 1..%d", B, 16*recurrentWarps)
	case H%16 != 0:
		return p, fmt.Sprintf("hidden size %d is not a multiple of 16", H)
	}
	p.units = (H + b.sms - 1) / b.sms
	if p.units > 2*recurrentMaxN {
		return p, fmt.Sprintf("hidden size %d needs %d units a block on %d SMs; the kernel holds %d", H, p.units, b.sms, 2*recurrentMaxN)
	}
	p.blocks = (H + p.units - 1) / p.units
	kw := H // words in a row: one tf32, or two bfloat16
	if b.opts.Precision == BF16 {
		kw = H / 2
	}
	rows := (4*p.units + 7) / 8 * 8
	mrows := (B + 15) / 16 * 16
	cell := (B*5*p.units + 3) / 4 * 4             // words of a step's gate inputs and c_{t-1}
	free := b.rk.sharedMax/4 - rows*(kw+4) - cell // words left for h_{t-1}
	// The widest chunk, a power of two from 8 to 128 words, of which
	// recurrentStages fit; none wider than a row needs.
	for c := 128; c >= 8; c /= 2 {
		if recurrentStages*mrows*(c+4) <= free && (c/2 < kw || c == 8) {
			p.chunk = c
			break
		}
	}
	buffers := max(recurrentStages*mrows*(p.chunk+4), mrows*rows)
	if p.chunk == 0 || buffers > free {
		return p, fmt.Sprintf("%d units' rows of W_hh (H=%d) and a batch of %d do not fit in %d bytes of shared memory", p.units, H, B, b.rk.sharedMax)
	}
	p.chunks = (kw + p.chunk - 1) / p.chunk
	p.shared = 4 * (rows*(kw+4) + cell + buffers)
	return p, ""
}

// LSTMRecurrentForward runs the recurrent part of lstmForward
// (model/lstm.go) over T steps and reports whether it did; where
// Options.Recurrence leaves the steps to the caller it does nothing and
// returns false.
//
//	gates (T, B, 4H)  in: x_t W_ih^T + bias; out: the activations [i f g o]
//	hs,cs (T+1, B, H) in: block 0 holds (h_{-1}, c_{-1}); out: blocks 1..T
//	whh   (4H, H)     W_hh, or W_hh^T (H, 4H) when transposed is set
func (b *Backend) LSTMRecurrentForward(gates, hs, cs, whh compute.Vec, transposed bool, T, B, H int) bool {
	mustLen("LSTMRecurrentForward gates", gates.N, T*B*4*H)
	cellElems("LSTMRecurrentForward", B, H)
	atLeast("LSTMRecurrentForward", "hs", hs.N, (T+1)*B*H)
	atLeast("LSTMRecurrentForward", "cs", cs.N, (T+1)*B*H)
	mustLen("LSTMRecurrentForward whh", whh.N, 4*H*H)
	if p, ok, why := b.persistentFor(B, H); ok && hs.Ptr%16 == 0 {
		b.paths.count("forward persistent", H)
		b.persistentForward(p, gates, hs, cs, whh, transposed, T, B, H)
		return true
	} else if ok {
		b.paths.why = "h is not 16-byte aligned"
	} else if why != "" {
		b.paths.why = why
	}
	if b.opts.Precision == BF16 && b.opts.Recurrence != RecurrencePerStep {
		b.paths.count("forward per-step bf16", H)
		b.forwardStepsBF16(gates, b.foldRowVector(gates.Ptr, T*B, 4*H), hs, cs, whh, transposed, T, B, H)
		return true
	}
	b.paths.count("forward per-step", H)
	return false
}

// persistentFor says whether the forward recurrence of B rows and H units
// runs in the persistent kernel, with its layout, or why not where it was
// considered (Options.Recurrence, recurrentAutoChunks).
func (b *Backend) persistentFor(B, H int) (recurrentPlan, bool, string) {
	switch {
	case b.opts.Recurrence == RecurrencePerStep:
		return recurrentPlan{}, false, ""
	case b.opts.Recurrence == RecurrenceAuto && b.opts.Precision != TF32:
		return recurrentPlan{}, false, ""
	}
	p, why := b.planRecurrent(B, H)
	if why == "" && b.opts.Recurrence == RecurrenceAuto && p.chunks > recurrentAutoChunks {
		why = fmt.Sprintf("h_{t-1} (B=%d, H=%d, %s) takes %d chunks a step, where the per-step path is faster", B, H, b.opts.Precision, p.chunks)
	}
	return p, why == "", why
}

// persistentForward launches lstm_recurrent_forward as p lays it out.
func (b *Backend) persistentForward(p recurrentPlan, gates, hs, cs, whh compute.Vec, transposed bool, T, B, H int) {
	if T == 0 {
		return
	}
	fn := b.rk.forwardTF32
	r := &b.rec
	if r.barrier.N == 0 {
		r.barrier = b.Alloc(1)
	}
	if b.opts.Precision == BF16 {
		fn = b.rk.forwardBF16
		r.hbf = b.bf16Alloc(r.hbf, 2*B*H)
	}
	b.record(cmdMemset).ptr(r.barrier.Ptr).size(1)
	c := b.kernel(fn, p.blocks, 1, recurrentThreads)
	c.coop, c.smem = true, uint32(p.shared)
	c.ptr(gates.Ptr).ptr(hs.Ptr).ptr(cs.Ptr).ptr(whh.Ptr).flag(transposed).i32(T).i32(B).i32(H).i32(p.units).
		ptr(r.hbf.Ptr).ptr(r.barrier.Ptr).i32(p.chunk).ptr(r.clock.Ptr)
}

// forwardStepsBF16 is the model's loop on bfloat16 storage: W_hh and
// h_{-1} are rounded once, then each step's product reads the bfloat16 h
// the previous step's cell kernel wrote. bias (0 for none) is the gates'
// bias that the cell kernels add, where the layer's AddRowVector over all
// steps came just before (foldRowVector): one pass over (T, B, 4H) fewer.
func (b *Backend) forwardStepsBF16(gates compute.Vec, bias uintptr, hs, cs, whh compute.Vec, transposed bool, T, B, H int) {
	r := &b.rec
	G, BH := 4*H, B*H
	r.wbf = b.bf16Alloc(r.wbf, G*H)
	r.hbf = b.bf16Alloc(r.hbf, 2*BH)
	b.toBF16(r.wbf.Ptr, whh.Ptr, G*H)
	b.toBF16(r.hbf.Ptr, hs.Ptr, BH)
	for t := 0; t < T; t++ {
		h := r.hbf.Ptr + uintptr(bf16Bytes*(t%2)*BH)
		g := gates.Ptr + uintptr(4*t*B*G)
		if transposed {
			b.recordGemm(false, false, B, G, H, 1, h, H, r.wbf.Ptr, G, 1, g, G, gemmBF16F32C)
		} else {
			b.recordGemm(false, true, B, G, H, 1, h, H, r.wbf.Ptr, H, 1, g, G, gemmBF16F32C)
		}
		b.launchDependent(b.elementwise(b.rk.cellBF16H, BH)).ptr(g).ptr(bias).ptr(cs.Ptr + uintptr(4*t*BH)).ptr(cs.Ptr + uintptr(4*(t+1)*BH)).
			ptr(hs.Ptr + uintptr(4*(t+1)*BH)).ptr(r.hbf.Ptr + uintptr(bf16Bytes*((t+1)%2)*BH)).i32(B).i32(H)
	}
}

// LSTMRecurrentBackward runs the loop of lstmBackward (model/lstm.go) over
// T steps, from T-1 down, and reports whether it did: at BF16 unless
// Options.Recurrence is RecurrencePerStep, and at TF32 where
// tf32BackwardSlices asks for it; elsewhere it does nothing and returns
// false.
//
// At BF16 each step's product dgates_{t+1} W_hh (B x 4H by 4H x H) reads
// bfloat16 copies of W_hh (rounded once) and of the step's gate gradients
// (written by the cell kernel beside the float32 ones), as four products,
// one a gate's K-slice, in one batched call; the cell kernel
// (lstm_backward_parts) adds their results to dh_t in order before its
// own work. cuBLAS runs the single product of a 64-row output as split-K
// with a separate reduction kernel each step; the batched slices fill the
// device without it (recurrentSplitK). At TF32 the slices read the float32
// operands, tf32BackwardSlices of them.
//
//	dgates (T, B, 4H) out: dL/d(pre-activations)
//	gates  (T, B, 4H) the forward's activations
//	cs     (T+1, B, H)
//	dh     (T, B, H)  in: dL/dh_t from above; the recurrent gradient is added in place
//	dc     (B, H)     in: zero; scratch
//	whh    (4H, H)    W_hh
func (b *Backend) LSTMRecurrentBackward(dgates, gates, cs, dh, dc, whh compute.Vec, T, B, H int) bool {
	G, BH := 4*H, cellElems("LSTMRecurrentBackward", B, H)
	atLeast("LSTMRecurrentBackward", "dgates", dgates.N, T*B*G)
	atLeast("LSTMRecurrentBackward", "gates", gates.N, T*B*G)
	atLeast("LSTMRecurrentBackward", "cs", cs.N, (T+1)*BH)
	atLeast("LSTMRecurrentBackward", "dh", dh.N, T*BH)
	atLeast("LSTMRecurrentBackward", "dc", dc.N, BH)
	mustLen("LSTMRecurrentBackward whh", whh.N, G*H)
	if b.opts.Precision == TF32 && tf32BackwardSlices > 0 && b.opts.Recurrence != RecurrencePerStep {
		b.backwardStepsSliced(dgates, gates, cs, dh, dc, whh, T, B, H)
		return true
	}
	if b.opts.Precision != BF16 || b.opts.Recurrence == RecurrencePerStep {
		b.paths.count("backward per-step", H)
		return false
	}
	b.paths.count("backward per-step bf16", H)
	r := &b.rec
	r.wbf = b.bf16Alloc(r.wbf, G*H)
	r.dgbf = b.bf16Alloc(r.dgbf, B*G)
	b.toBF16(r.wbf.Ptr, whh.Ptr, G*H)
	if recurrentSplitK && r.parts.N < 4*BH {
		b.Free(r.parts)
		r.parts = b.Alloc(4 * BH)
	}
	for t := T - 1; t >= 0; t-- {
		dht := dh.Ptr + uintptr(4*t*BH)
		nparts := 0
		if t < T-1 && recurrentSplitK {
			b.recordGemmBatched(false, false, B, H, H, 1, r.dgbf.Ptr, G, H, r.wbf.Ptr, H, H*H, 0, r.parts.Ptr, H, BH, 4, gemmBF16F32C)
			nparts = 4
		} else if t < T-1 {
			b.recordGemm(false, false, B, H, G, 1, r.dgbf.Ptr, G, r.wbf.Ptr, H, 1, dht, H, gemmBF16F32C)
		}
		b.launchDependent(b.elementwise(b.rk.cellBackParts, BH)).ptr(dgates.Ptr + uintptr(4*t*B*G)).ptr(gates.Ptr + uintptr(4*t*B*G)).
			ptr(cs.Ptr + uintptr(4*t*BH)).ptr(cs.Ptr + uintptr(4*(t+1)*BH)).ptr(dht).ptr(dc.Ptr).
			ptr(r.parts.Ptr).i32(nparts).ptr(r.dgbf.Ptr).i32(B).i32(H)
	}
	return true
}

// backwardStepsSliced is LSTMRecurrentBackward at TF32: each step's product
// as S = tf32BackwardSlices K-slices of float32 dgates_{t+1} and W_hh (4 where
// S does not divide 4H) in one batched call, summed into dh_t by the cell
// kernel.
func (b *Backend) backwardStepsSliced(dgates, gates, cs, dh, dc, whh compute.Vec, T, B, H int) {
	b.paths.count("backward per-step sliced", H)
	G, BH := 4*H, B*H
	S := tf32BackwardSlices
	if G%S != 0 {
		S = 4
	}
	ks := G / S
	r := &b.rec
	if r.parts.N < S*BH {
		b.Free(r.parts)
		r.parts = b.Alloc(S * BH)
	}
	for t := T - 1; t >= 0; t-- {
		dht := dh.Ptr + uintptr(4*t*BH)
		nparts := 0
		if t < T-1 {
			b.recordGemmBatched(false, false, B, H, ks, 1, dgates.Ptr+uintptr(4*(t+1)*B*G), G, ks, whh.Ptr, H, ks*H, 0, r.parts.Ptr, H, BH, S, gemmF32)
			nparts = S
		}
		b.launchDependent(b.elementwise(b.rk.cellBackParts, BH)).ptr(dgates.Ptr + uintptr(4*t*B*G)).ptr(gates.Ptr + uintptr(4*t*B*G)).
			ptr(cs.Ptr + uintptr(4*t*BH)).ptr(cs.Ptr + uintptr(4*(t+1)*BH)).ptr(dht).ptr(dc.Ptr).
			ptr(r.parts.Ptr).i32(nparts).ptr(0).i32(B).i32(H)
	}
}

// tf32BackwardSlices, where positive, makes LSTMRecurrentBackward run the
// TF32 backward recurrence with each step's product as that many batched
// K-slices (backwardStepsSliced) instead of the model's loop, whose
// 64-row products cuBLAS runs as split-K with a reduction kernel a step
// (0.8 ms of a 11.8 ms paper-shape step at ebd9ec7, NOTES.md). Zero (the
// model's loop) until a profile shows the slices paying; at 8efce30 four
// slices took 12.25 ms a step against 12.20. A variable so that the
// profile can time both.
var tf32BackwardSlices = 0

// recurrentSplitK says whether LSTMRecurrentBackward multiplies by W_hh in
// four batched K-slices (true) or in one product that accumulates into dh
// (cuBLAS's split-K and its reduction kernel). On an H200
// (TestProfilePaperStep, 2026-12-04) the bf16 step took 7.27 ms with the
// slices and 7.41 with the one product; the same change at TF32 (float32
// operands) took 12.25 against 12.20, so TF32 keeps the model's loop. A
// variable so that the profile can time both.
var recurrentSplitK = true

// RecurrentPath says how the LSTM layers' recurrences have run on this
// backend so far, each direction's ways with the hidden sizes they ran at,
// e.g. "forward persistent (H 400), per-step (H 1152); backward per-step
// (H 400, 1152)", and why a forward considered for the persistent kernel
// did not run in it.
func (b *Backend) RecurrentPath() string {
	if len(b.paths.runs) == 0 {
		return "none run"
	}
	var parts []string
	for _, dir := range []string{"forward", "backward"} {
		var ways []string
		for _, way := range []string{"persistent", "per-step bf16", "per-step sliced", "per-step"} {
			if hs := b.paths.runs[dir+" "+way]; len(hs) > 0 {
				sizes := make([]string, len(hs))
				for i, h := range hs {
					sizes[i] = strconv.Itoa(h)
				}
				ways = append(ways, fmt.Sprintf("%s (H %s)", way, strings.Join(sizes, ", ")))
			}
		}
		if len(ways) > 0 {
			parts = append(parts, dir+" "+strings.Join(ways, ", "))
		}
	}
	s := strings.Join(parts, "; ")
	if b.paths.why != "" {
		s += "; not persistent: " + b.paths.why
	}
	return s
}
