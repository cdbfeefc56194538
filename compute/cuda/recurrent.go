package cuda

import (
	"cmp"
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
// The backend's per-step loops can split each step's product along K into
// batched slices whose sums the cell kernel adds (forwardSteps,
// LSTMRecurrentBackward; Options.Slices), which at TF32 also moves the
// loops from the model into the backend ("per-step tf32", on float32
// storage; "per-step" alone is the model's loop).
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

// recurrentSource is the CUDA C of the persistent recurrence.
//
//go:embed recurrent.cu
var recurrentSource string

// cellSource is the CUDA C of the per-step paths' cell kernels.
//
//go:embed cells.cu
var cellSource string

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

// recurrentKernels are the entry points of recurrent.cu and cells.cu and
// what the device allows them.
type recurrentKernels struct {
	forwardBF16, forwardTF32        uintptr // the persistent forward
	cellForwardParts, cellBackParts uintptr // the cell kernels of the per-step paths (cells.cu)
	coop                            bool    // the device launches cooperative kernels
	sharedMax                       int     // bytes of shared memory a block may ask for
}

func (k *recurrentKernels) resolve(b *Backend) error {
	if err := b.resolveKernels([]kernelEntry{
		{&k.forwardBF16, "lstm_recurrent_forward_bf16"}, {&k.forwardTF32, "lstm_recurrent_forward_tf32"},
		{&k.cellForwardParts, "lstm_forward_parts"}, {&k.cellBackParts, "lstm_backward_parts"},
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
	parts                   compute.Vec // the backward's partial products of a step (S, B, H)
	fparts                  compute.Vec // the forward's partial products of a step (S, B, 4H)
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
	sl := b.sliceCounts()
	switch {
	case b.opts.Recurrence == RecurrencePerStep:
	case b.opts.Precision == BF16:
		S := forwardSlices(sl.Forward, H)
		b.paths.count(slicedWay("forward per-step bf16", S), H)
		b.forwardSteps(gates, b.foldRowVector(gates.Ptr, T*B, 4*H), hs, cs, whh, transposed, T, B, H, S)
		return true
	case b.opts.Precision == TF32 && sl.Forward > 0:
		S := forwardSlices(sl.Forward, H)
		b.paths.count(slicedWay("forward per-step tf32", S), H)
		b.forwardSteps(gates, b.foldRowVector(gates.Ptr, T*B, 4*H), hs, cs, whh, transposed, T, B, H, S)
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

// forwardSteps is the model's loop run here. At BF16 it runs on bfloat16
// storage: W_hh and h_{-1} are rounded once, then each step's product
// reads the bfloat16 h the previous step's cell kernel wrote; at TF32 on
// the float32 operands. bias (0 for none) is the gates' bias that the cell
// kernels add, where the layer's AddRowVector over all steps came just
// before (foldRowVector): one pass over (T, B, 4H) fewer.
//
// Each step's product h_{t-1} W_hh^T (B x H by H x 4H) goes as S products,
// one a K-slice of H/S columns of h_{t-1} (S as forwardSlices settles it,
// by the caller), in one batched call whose results the cell kernel
// (lstm_forward_parts) adds to the gates' input part in order; S = 1 is
// the single product, accumulated into the gates. cuBLAS runs the single
// product of 64 rows on few SMs (36 blocks of 128x64 for tf32 at H=1152);
// the slices give it more blocks at the cost of the cell kernel reading
// their sums.
func (b *Backend) forwardSteps(gates compute.Vec, bias uintptr, hs, cs, whh compute.Vec, transposed bool, T, B, H, S int) {
	r := &b.rec
	G, BH := 4*H, B*H
	bf := b.opts.Precision == BF16
	types, w := gemmF32, whh.Ptr
	hAt := func(t int) uintptr { return hs.Ptr + uintptr(4*t*BH) } // h_{t-1} for step t
	hbAt := func(int) uintptr { return 0 }                         // where step t's cell writes h_t in bfloat16
	if bf {
		r.wbf = b.bf16Alloc(r.wbf, G*H)
		r.hbf = b.bf16Alloc(r.hbf, 2*BH)
		b.toBF16(r.wbf.Ptr, whh.Ptr, G*H)
		b.toBF16(r.hbf.Ptr, hs.Ptr, BH)
		types, w = gemmBF16F32C, r.wbf.Ptr
		hAt = func(t int) uintptr { return r.hbf.Ptr + uintptr(bf16Bytes*(t%2)*BH) }
		hbAt = func(t int) uintptr { return r.hbf.Ptr + uintptr(bf16Bytes*((t+1)%2)*BH) }
	}
	if S > 1 && r.fparts.N < S*B*G {
		b.Free(r.fparts)
		r.fparts = b.Alloc(S * B * G)
	}
	p := forwardSliceProduct(transposed, B, H, S)
	for t := 0; t < T; t++ {
		g := gates.Ptr + uintptr(4*t*B*G)
		switch {
		case S == 1 && transposed: // W_hh^T stored (H, 4H)
			b.recordGemm(false, false, B, G, H, 1, hAt(t), H, w, G, 1, g, G, types)
		case S == 1:
			b.recordGemm(false, true, B, G, H, 1, hAt(t), H, w, H, 1, g, G, types)
		default:
			b.recordGemmBatched(p.transA, p.transB, p.m, p.n, p.k, 1, hAt(t), p.lda, p.sa, w, p.ldb, p.sb, 0, r.fparts.Ptr, p.ldc, p.sc, p.count, types)
		}
		c0, c1, h1 := cs.Ptr+uintptr(4*t*BH), cs.Ptr+uintptr(4*(t+1)*BH), hs.Ptr+uintptr(4*(t+1)*BH)
		nparts := 0
		if S > 1 {
			nparts = S
		}
		b.launchDependent(b.elementwise(b.rk.cellForwardParts, BH)).ptr(g).ptr(bias).ptr(r.fparts.Ptr).i32(nparts).
			ptr(c0).ptr(c1).ptr(h1).ptr(hbAt(t)).i32(B).i32(H)
	}
}

// sliceProduct is one step's product as count batched K-slices: the i-th
// product reads A + i*sa and B + i*sb and writes C + i*sc (strides in
// elements, as cublasGemmStridedBatchedEx takes them), each (m, n) over k
// of the whole product's K; the slices' results add up to the product.
type sliceProduct struct {
	transA, transB                   bool
	m, n, k                          int
	lda, sa, ldb, sb, ldc, sc, count int
}

// forwardSliceProduct is h_{t-1} W_hh^T (B x H by H x 4H) in S slices of
// H/S columns of h_{t-1}: with W_hh stored (4H, H), the same columns of
// W_hh; stored transposed, (H, 4H), the same rows. Each slice writes its
// own (B, 4H) block.
func forwardSliceProduct(transposed bool, B, H, S int) sliceProduct {
	G, ks := 4*H, H/S
	p := sliceProduct{m: B, n: G, k: ks, lda: H, sa: ks, ldc: G, sc: B * G, count: S}
	if transposed {
		p.ldb, p.sb = G, ks*G
	} else {
		p.transB, p.ldb, p.sb = true, H, ks
	}
	return p
}

// backwardSliceProduct is dgates_{t+1} W_hh (B x 4H by 4H x H) in S slices
// of 4H/S columns of dgates_{t+1} and as many rows of W_hh, each into its
// own (B, H) block.
func backwardSliceProduct(B, H, S int) sliceProduct {
	ks := 4 * H / S
	return sliceProduct{m: B, n: H, k: ks, lda: 4 * H, sa: ks, ldb: H, sb: ks * H, ldc: H, sc: B * H, count: S}
}

// forwardSlices is the forward's slices a step for a setting of S: S where
// it divides H, else one product.
func forwardSlices(S, H int) int {
	if S < 1 || H%S != 0 {
		return 1
	}
	return S
}

// backwardSlices is the backward's: S where it divides 4H, else 4.
func backwardSlices(S, H int) int {
	if S < 1 || 4*H%S != 0 {
		return 4
	}
	return S
}

// slicedWay names a way for RecurrentPath with its slices a step, where
// there are more than one: "backward per-step bf16 in 4 slices".
func slicedWay(way string, S int) string {
	if S > 1 {
		return fmt.Sprintf("%s in %d slices", way, S)
	}
	return way
}

// LSTMRecurrentBackward runs the loop of lstmBackward (model/lstm.go) over
// T steps, from T-1 down, and reports whether it did: at BF16 unless
// Options.Recurrence is RecurrencePerStep, and at TF32 where the slices
// (Options.Slices, defaultSlices) ask for it; elsewhere it does nothing
// and returns false.
//
// Each step's product dgates_{t+1} W_hh (B x 4H by 4H x H) goes as S
// products, one a K-slice of 4H/S columns of dgates_{t+1} and as many rows
// of W_hh, in one batched call, and the cell kernel (lstm_backward_parts)
// adds their results to dh_t in order before its own work. cuBLAS runs the
// single product of a 64-row output as split-K with a separate reduction
// kernel each step; the batched slices fill the device without it. S is
// the backward's slices (sliceCounts; 4 where it does not divide 4H);
// S = 1 is the single product, accumulated into dh_t.
// At BF16 the products read bfloat16 copies of W_hh (rounded once) and of
// the step's gate gradients (written by the cell kernel beside the float32
// ones); at TF32 the float32 operands.
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
	S, way := 0, ""
	switch sl := b.sliceCounts(); {
	case b.opts.Recurrence == RecurrencePerStep:
	case b.opts.Precision == BF16:
		S, way = sl.Backward, "backward per-step bf16"
	case b.opts.Precision == TF32 && sl.Backward > 0:
		S, way = sl.Backward, "backward per-step tf32"
	}
	if S <= 0 {
		b.paths.count("backward per-step", H)
		return false
	}
	S = backwardSlices(S, H)
	b.paths.count(slicedWay(way, S), H)
	r := &b.rec
	// The operands of step t's product: dgates_{t+1} (each step's own, or
	// the one bfloat16 copy the cell kernel rewrites a step) and W_hh.
	types, w, dgb := gemmF32, whh.Ptr, uintptr(0)
	dgNext := func(t int) uintptr { return dgates.Ptr + uintptr(4*(t+1)*B*G) }
	if b.opts.Precision == BF16 {
		r.wbf = b.bf16Alloc(r.wbf, G*H)
		r.dgbf = b.bf16Alloc(r.dgbf, B*G)
		b.toBF16(r.wbf.Ptr, whh.Ptr, G*H)
		types, w, dgb = gemmBF16F32C, r.wbf.Ptr, r.dgbf.Ptr
		dgNext = func(int) uintptr { return r.dgbf.Ptr }
	}
	if S > 1 && r.parts.N < S*BH {
		b.Free(r.parts)
		r.parts = b.Alloc(S * BH)
	}
	p := backwardSliceProduct(B, H, S)
	for t := T - 1; t >= 0; t-- {
		dht := dh.Ptr + uintptr(4*t*BH)
		nparts := 0
		if t < T-1 && S > 1 {
			b.recordGemmBatched(p.transA, p.transB, p.m, p.n, p.k, 1, dgNext(t), p.lda, p.sa, w, p.ldb, p.sb, 0, r.parts.Ptr, p.ldc, p.sc, p.count, types)
			nparts = S
		} else if t < T-1 {
			b.recordGemm(false, false, B, H, G, 1, dgNext(t), G, w, H, 1, dht, H, types)
		}
		b.launchDependent(b.elementwise(b.rk.cellBackParts, BH)).ptr(dgates.Ptr + uintptr(4*t*B*G)).ptr(gates.Ptr + uintptr(4*t*B*G)).
			ptr(cs.Ptr + uintptr(4*t*BH)).ptr(cs.Ptr + uintptr(4*(t+1)*BH)).ptr(dht).ptr(dc.Ptr).
			ptr(r.parts.Ptr).i32(nparts).ptr(dgb).i32(B).i32(H)
	}
	return true
}

// Slices is Options.Slices: the per-step paths' recurrent product of a
// step as that many batched K-slices, whose sums the cell kernel adds
// (forwardSteps, LSTMRecurrentBackward). Forward slices split H, backward
// slices 4H; a count that does not divide them gives one forward product,
// or four backward slices. A zero field takes the precision's default
// (defaultSlices).
type Slices struct{ Forward, Backward int }

// defaultSlices are the slices a step where Options.Slices leaves a field
// at zero. BF16: one forward product a step and four backward slices (the
// bf16 step took 7.27 ms with four and 7.41 with one product on an H200,
// TestProfilePaperStep, 2026-12-04; eight took 6.94 against 7.09 in the
// step profile of 2026-12-05 but 656k against 663-665k tok/s in that
// day's bench, so four stay). TF32: one forward product and eight
// backward slices, which take cuBLAS's split-K and its reductions out of
// the backward: 401k against 395k tok/s in two bench runs each on an
// H200 (bench/results/2026-12-05-cuda-h200.jsonl), and in the step
// profile 11.46 ms with eight backward slices, 11.51 with one forward
// product, against 11.69 with neither (two and four forward slices took
// 12.2-12.3). FP32 has no per-step path of the backend's.
var defaultSlices = map[Precision]Slices{BF16: {Forward: 1, Backward: 4}, TF32: {Forward: 1, Backward: 8}}

// slices is the slices a step at the backend's precision.
func (b *Backend) sliceCounts() Slices {
	d, s := defaultSlices[b.opts.Precision], b.opts.Slices
	return Slices{cmp.Or(s.Forward, d.Forward), cmp.Or(s.Backward, d.Backward)}
}

// ParseSlices reads Options.Slices as "F/B" ("4/8"; 0 keeps that
// direction's default), as `ulmfit bench --slices` takes it.
func ParseSlices(s string) (Slices, error) {
	f, bk, ok := strings.Cut(s, "/")
	fw, err1 := strconv.Atoi(f)
	bw, err2 := strconv.Atoi(bk)
	if !ok || err1 != nil || err2 != nil || fw < 0 || bw < 0 {
		return Slices{}, fmt.Errorf("cuda: slices %q: want FORWARD/BACKWARD, two counts of 0 or more (0: the default), e.g. 4/8", s)
	}
	return Slices{fw, bw}, nil
}

func (s Slices) String() string { return fmt.Sprintf("%d/%d", s.Forward, s.Backward) }

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
		for _, base := range []string{"persistent", "per-step bf16", "per-step tf32", "per-step"} {
			// A way may carry its slices a step: "per-step bf16 in 4 slices".
			var names []string
			for key := range b.paths.runs {
				if way, ok := strings.CutPrefix(key, dir+" "); ok && (way == base || strings.HasPrefix(way, base+" in ")) {
					names = append(names, way)
				}
			}
			slices.Sort(names)
			for _, way := range names {
				hs := b.paths.runs[dir+" "+way]
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
