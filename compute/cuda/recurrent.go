package cuda

import (
	_ "embed"
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The LSTM's recurrence step by step is 70 small products a layer (B=64
// rows against W_hh) and 70 cell kernels, each too small to fill the card.
// LSTMRecurrentForward runs all T steps of a layer in one cooperative
// launch that keeps each block's slice of W_hh in shared memory across the
// steps (recurrent.cu says how). It runs at TF32 and BF16, where its
// products round their operands as cuBLAS's do at those precisions; at FP32
// the products stay on cuBLAS, exact in float32, and so do shapes whose
// slice does not fit (recurrentPlan says which). RecurrentPath reports
// which path the layers took.

// recurrentSource is the CUDA C of the persistent recurrence.
//
//go:embed recurrent.cu
var recurrentSource string

const (
	recurrentThreads = 512 // REC_THREADS in recurrent.cu
	recurrentWarps   = recurrentThreads / 32
	recurrentMaxN    = 8 // REC_MAXN: n-tiles of 8 gate rows, so at most 16 units a block
	recurrentStages  = 3 // REC_STAGES: chunks of h_{t-1} in flight or in use
)

// recurrentMaxChunks is the most chunks of h_{t-1} a step may take. Every
// block reads all of h_{t-1} from L2 each step, and the products' time
// follows its size: on an H200 (2026-12-04, TestProfileRecurrent, T=70) a
// layer took 1.10 ms against 1.34 step by step at bf16, B=64, H=1152 (5
// chunks), and 0.54 against 0.88 at H=400 (2 chunks), but 1.77 against
// 1.37 at bf16, B=128 (9 chunks) and 2.05 against 1.34 at tf32, B=64,
// H=1152 (36 chunks of 32 words, all that fits beside float32 weights).
const recurrentMaxChunks = 8

// recurrentKernels are the entry points of recurrent.cu and what the device
// allows them.
type recurrentKernels struct {
	forwardBF16, forwardTF32 uintptr
	coop                     bool // the device launches cooperative kernels
	sharedMax                int  // bytes of shared memory a block may ask for
}

func (k *recurrentKernels) resolve(b *Backend) error {
	if err := b.resolveKernels([]kernelEntry{
		{&k.forwardBF16, "lstm_recurrent_forward_bf16"}, {&k.forwardTF32, "lstm_recurrent_forward_tf32"},
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

// recurrentBuffers are the persistent recurrence's scratch: the grid
// barrier's counter and the bfloat16 copies of h (2, B, H).
type recurrentBuffers struct {
	barrier, hbf compute.Vec
	// clock, when a test sets it, gets block 0's time at four points of
	// each step (recurrent.cu), 2 words each.
	clock compute.Vec
}

// recurrentPaths counts the layers' forward recurrences by the path they
// took, for RecurrentPath.
type recurrentPaths struct {
	persistent, perStep int
	why                 string // the last per-step layer's reason
}

// recurrentPlan is lstm_recurrent_forward's layout for a shape.
type recurrentPlan struct {
	units, blocks int // hidden units a block, blocks
	chunk         int // words of a row of h_{t-1} a chunk streams (kcw)
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
	if n := (kw + p.chunk - 1) / p.chunk; n > recurrentMaxChunks {
		return p, fmt.Sprintf("h_{t-1} (B=%d, H=%d, %s) would take %d chunks a step, more than the %d that beat the per-step path", B, H, b.opts.Precision, n, recurrentMaxChunks)
	}
	p.shared = 4 * (rows*(kw+4) + cell + buffers)
	return p, ""
}

// LSTMRecurrentForward runs the recurrent part of lstmForward
// (model/lstm.go) over T steps in one launch and reports whether it did; it
// does nothing and returns false where planRecurrent turns the shape down,
// and the caller runs the steps itself.
//
//	gates (T, B, 4H)  in: x_t W_ih^T + bias; out: the activations [i f g o]
//	hs,cs (T+1, B, H) in: block 0 holds (h_{-1}, c_{-1}); out: blocks 1..T
//	whh   (4H, H)     W_hh, or W_hh^T (H, 4H) when transposed is set
func (b *Backend) LSTMRecurrentForward(gates, hs, cs, whh compute.Vec, transposed bool, T, B, H int) bool {
	mustLen("LSTMRecurrentForward gates", gates.N, T*B*4*H)
	atLeast("LSTMRecurrentForward", "hs", hs.N, (T+1)*B*H)
	atLeast("LSTMRecurrentForward", "cs", cs.N, (T+1)*B*H)
	mustLen("LSTMRecurrentForward whh", whh.N, 4*H*H)
	p, why := b.planRecurrent(B, H)
	if why == "" && hs.Ptr%16 != 0 {
		why = "h is not 16-byte aligned"
	}
	if why != "" {
		b.paths.perStep++
		b.paths.why = why
		return false
	}
	b.paths.persistent++
	if T == 0 {
		return true
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
	return true
}

// RecurrentPath says how the LSTM layers' forward recurrences have run on
// this backend so far: "persistent" (LSTMRecurrentForward's kernel),
// "per-step" with the reason, or both with their counts.
func (b *Backend) RecurrentPath() string {
	p := b.paths
	switch {
	case p.persistent == 0 && p.perStep == 0:
		return "none run"
	case p.perStep == 0:
		return "persistent"
	case p.persistent == 0:
		return "per-step (" + p.why + ")"
	}
	return fmt.Sprintf("persistent %d layers, per-step %d (%s)", p.persistent, p.perStep, p.why)
}
