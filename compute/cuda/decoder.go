package cuda

import (
	_ "embed"
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The tied decoder (model/decoder.go) at Precision BF16, with its largest
// tensors stored in bfloat16, as torch.autocast(bfloat16) stores the output
// of its matrix products: the (rows, V) logits and their gradient, and the
// operands of the three products (encoder.weight, the decoder's input). The
// softmax and the loss are computed in float32 from the bfloat16 logits,
// the products accumulate in float32, and every gradient is written in
// float32. At the paper's shape this halves the decoder's memory traffic,
// which is most of it, and runs its products on bfloat16 tensor cores
// instead of converting float32 operands on every call.

// decoderSource is the CUDA C of the bfloat16 decoder's kernels.
//
//go:embed decoder.cu
var decoderSource string

// decoderKernels are the entry points of decoder.cu.
type decoderKernels struct {
	toBF16, fillBF16, softmaxXentBF16 uintptr
}

func (k *decoderKernels) resolve(b *Backend) error {
	return b.resolveKernels([]kernelEntry{
		{&k.toBF16, "to_bf16"}, {&k.fillBF16, "fill_bf16"}, {&k.softmaxXentBF16, "softmax_xent_bf16"},
	})
}

// decoderBuffers are DecodeBF16's bfloat16 scratch, grown on demand. Each
// is a float32 allocation of half as many elements (rounded up).
type decoderBuffers struct {
	enc, out, logits, ones compute.Vec
}

// decoderBF16Elems bounds the bfloat16 logits of one pass (128 Mi
// elements, 256 MiB): at the paper's shape (V 60000, 4480 rows) 3 passes
// of 1494 rows. A variable so that tests can force many passes.
var decoderBF16Elems = 1 << 27

// bf16Bytes is the size of a bfloat16.
const bf16Bytes = 2

// bf16Alloc returns buf if it holds n bfloat16 elements, else a new buffer
// that does (buf freed).
func (b *Backend) bf16Alloc(buf compute.Vec, n int) compute.Vec {
	need := (n + 1) / 2
	if buf.N >= need {
		return buf
	}
	b.Free(buf)
	return b.Alloc(need)
}

// DecodeBF16 runs the tied decoder over n rows with bfloat16 storage when
// the backend's precision is BF16, and reports whether it did; at other
// precisions it does nothing and returns false. It writes
//
//	losses[r] = -log softmax(out[r] enc^T + bias)[targets[r]]   (n)
//
// (a negative target: loss 0 and no gradient), and, when dout.N is not 0,
// the backward of scale * sum(losses):
//
//	dout  (n, E)  overwritten with scale * dlogits enc
//	denc  (V, E)  += scale * dlogits^T out
//	dbias (V)     += scale * the column sums of dlogits
//
// with out (n, E), enc (V, E), bias (V).
func (b *Backend) DecodeBF16(n, vocab, emb int, out, enc, bias compute.Vec, targets compute.IVec, losses compute.Vec, scale float32, dout, denc, dbias compute.Vec) bool {
	if b.opts.Precision != BF16 {
		return false
	}
	if n == 0 {
		return true
	}
	if vocab <= 0 || emb <= 0 {
		panic(fmt.Sprintf("cuda: DecodeBF16: vocabulary %d, width %d", vocab, emb))
	}
	mustLen("DecodeBF16 out", n*emb, out.N)
	mustLen("DecodeBF16 enc", vocab*emb, enc.N)
	mustLen("DecodeBF16 bias", vocab, bias.N)
	atLeast("DecodeBF16", "targets", targets.N, n)
	atLeast("DecodeBF16", "losses", losses.N, n)
	grad := dout.N != 0
	if grad {
		mustLen("DecodeBF16 dout", n*emb, dout.N)
		mustLen("DecodeBF16 denc", vocab*emb, denc.N)
		mustLen("DecodeBF16 dbias", vocab, dbias.N)
	}
	host, _ := b.hostInts("DecodeBF16", targets.Slice(0, n))
	for r, id := range host {
		if int(id) >= vocab {
			panic(fmt.Sprintf("cuda: DecodeBF16: target %d of row %d is outside the vocabulary of %d", id, r, vocab))
		}
	}
	most := max(1, decoderBF16Elems/vocab)
	passes := (n + most - 1) / most
	rows := (n + passes - 1) / passes

	d := &b.dec
	d.enc = b.bf16Alloc(d.enc, vocab*emb)
	d.out = b.bf16Alloc(d.out, n*emb)
	d.logits = b.bf16Alloc(d.logits, rows*vocab)
	if d.ones.N < (rows+1)/2 {
		d.ones = b.bf16Alloc(d.ones, rows)
		b.elementwise(b.dk.fillBF16, rows).ptr(d.ones.Ptr).f32(1).i64(rows)
	}
	b.elementwise(b.dk.toBF16, vocab*emb).ptr(d.enc.Ptr).ptr(enc.Ptr).i64(vocab * emb)
	b.elementwise(b.dk.toBF16, n*emb).ptr(d.out.Ptr).ptr(out.Ptr).i64(n * emb)
	for r0 := 0; r0 < n; r0 += rows {
		m := min(rows, n-r0)
		o := d.out.Ptr + uintptr(bf16Bytes*r0*emb)
		b.recordGemm(false, true, m, vocab, emb, 1, o, emb, d.enc.Ptr, emb, 0, d.logits.Ptr, vocab, gemmBF16)
		b.kernel(b.dk.softmaxXentBF16, min(m, softmaxBlocksPerSM*b.sms), 1, softmaxTPB).
			ptr(d.logits.Ptr).ptr(bias.Ptr).ptr(targets.Ptr + uintptr(4*r0)).ptr(losses.Ptr + uintptr(4*r0)).i32(m).i32(vocab)
		if !grad {
			continue
		}
		b.recordGemm(false, false, m, emb, vocab, scale, d.logits.Ptr, vocab, d.enc.Ptr, emb, 0, dout.Ptr+uintptr(4*r0*emb), emb, gemmBF16F32C)
		b.recordGemm(true, false, vocab, emb, m, scale, d.logits.Ptr, vocab, o, emb, 1, denc.Ptr, emb, gemmBF16F32C)
		b.recordGemm(true, false, vocab, 1, m, scale, d.logits.Ptr, vocab, d.ones.Ptr, 1, 1, dbias.Ptr, 1, gemmBF16F32C)
	}
	return true
}

// recordGemm records a product on raw addresses; Gemm checks its Vecs first.
func (b *Backend) recordGemm(transA, transB bool, m, n, k int, alpha float32, a uintptr, lda int, bm uintptr, ldb int, beta float32, c uintptr, ldc int, types gemmTypes) {
	b.record(cmdGemm).flag(transA).flag(transB).i64(m).i64(n).i64(k).f32(alpha).
		ptr(a).i64(lda).ptr(bm).i64(ldb).f32(beta).ptr(c).i64(ldc).i32(int(types))
}
