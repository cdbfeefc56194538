package cuda

import (
	_ "embed"
	"fmt"
	"math"

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
	toBF16, toBF16Vec, softmaxXentBF16, softmaxXentBF16Vec uintptr
	sumRowsPartialBF16, sumRowsPartialBF16Vec              uintptr
}

func (k *decoderKernels) resolve(b *Backend) error {
	return b.resolveKernels([]kernelEntry{
		{&k.toBF16, "to_bf16"}, {&k.toBF16Vec, "to_bf16_vec"}, {&k.softmaxXentBF16, "softmax_xent_bf16"},
		{&k.softmaxXentBF16Vec, "softmax_xent_bf16_vec"}, {&k.sumRowsPartialBF16, "sum_rows_partial_bf16"},
		{&k.sumRowsPartialBF16Vec, "sum_rows_partial_bf16_vec"},
	})
}

// decoderBuffers are DecodeBF16's bfloat16 scratch, grown on demand. Each
// is a float32 allocation of half as many elements (rounded up).
type decoderBuffers struct {
	enc, out, logits compute.Vec
}

// decoderBF16Elems bounds the bfloat16 logits of one pass (256 Mi
// elements, 512 MiB): at the paper's shape (V 60000, 4480 rows) 2 passes
// of 2240 rows, as DecoderChunkFloats gives the float32 decoder. A
// variable so that tests can force many passes.
var decoderBF16Elems = 1 << 28

// DecoderChunkFloats bounds the float32 decoder's logits buffer
// (model/awdlstm.go's largeDecoder): 256 Mi floats, 1 GiB, where the CPU
// takes 256 MiB. Fewer, longer passes give the accumulating d(enc) product
// a longer inner dimension and the device fewer launches; at the paper's
// shape 2 passes of 2240 rows in place of 5 of 896.
func (b *Backend) DecoderChunkFloats() int { return 1 << 28 }

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
	b.toBF16(d.enc.Ptr, enc.Ptr, vocab*emb)
	b.toBF16(d.out.Ptr, out.Ptr, n*emb)
	for r0 := 0; r0 < n; r0 += rows {
		m := min(rows, n-r0)
		o := d.out.Ptr + uintptr(bf16Bytes*r0*emb)
		b.recordGemm(false, true, m, vocab, emb, 1, o, emb, d.enc.Ptr, emb, 0, d.logits.Ptr, vocab, gemmBF16)
		fn, grid := b.dk.softmaxXentBF16, softmaxBlocksPerSM*b.sms
		if softmaxVec(d.logits.Ptr, bias.Ptr, vocab, bf16Bytes) {
			fn, grid = b.dk.softmaxXentBF16Vec, softmaxVecBlocksPerSM[1]*b.sms
		}
		b.kernel(fn, min(m, grid), 1, softmaxTPB).
			ptr(d.logits.Ptr).ptr(bias.Ptr).ptr(targets.Ptr + uintptr(4*r0)).ptr(losses.Ptr + uintptr(4*r0)).i32(m).i32(vocab)
		if !grad {
			continue
		}
		b.recordGemm(false, false, m, emb, vocab, scale, d.logits.Ptr, vocab, d.enc.Ptr, emb, 0, dout.Ptr+uintptr(4*r0*emb), emb, gemmBF16F32C)
		last := r0+m == n // as model/decoder.go's last chunk (besideWork)
		if last {
			b.BeginBeside()
		}
		b.recordGemm(true, false, vocab, emb, m, scale, d.logits.Ptr, vocab, o, emb, 1, denc.Ptr, emb, gemmBF16F32C)
		if last {
			b.EndBeside()
		}
		chunks := b.rowSumsFor(m, vocab)
		fn, gx, gy := b.dk.sumRowsPartialBF16, 0, 0
		if vocab%8 == 0 {
			fn = b.dk.sumRowsPartialBF16Vec
			gx, gy = b.grid2(chunks, vocab/8)
		} else {
			gx, gy = b.grid2(chunks, vocab)
		}
		b.kernel(fn, gx, gy, threads).ptr(d.logits.Ptr).ptr(b.rowSums.Ptr).i32(m).i32(vocab).i32(chunks).f32(scale)
		b.elementwise(b.k.sumRowsFinal, vocab).ptr(dbias.Ptr).ptr(b.rowSums.Ptr).i32(vocab).i32(chunks)
	}
	return true
}

// toBF16 records dst[i] = bfloat16(src[i]) for n elements: eight a thread
// where both are 16-byte aligned, else one.
func (b *Backend) toBF16(dst, src uintptr, n int) {
	if n == 0 {
		return
	}
	if dst%16 != 0 || src%16 != 0 {
		b.elementwise(b.dk.toBF16, n).ptr(dst).ptr(src).i64(n)
		return
	}
	b.elementwise(b.dk.toBF16Vec, max(1, n/8)).ptr(dst).ptr(src).i64(n / 8).i32(n % 8)
}

// recordGemmBatched records count products on raw addresses (gemmBatched),
// packed into a command's 14 words: the flags, the types and the count
// share one, alpha and beta another.
func (b *Backend) recordGemmBatched(transA, transB bool, m, n, k int, alpha float32, a uintptr, lda, sa int, bm uintptr, ldb, sb int,
	beta float32, c uintptr, ldc, sc, count int, types gemmTypes) {
	flags := uint64(0)
	if transA {
		flags |= 1
	}
	if transB {
		flags |= 2
	}
	cmd := b.record(cmdGemmBatched)
	cmd.u64(flags | uint64(types)<<8 | uint64(count)<<32).i64(m).i64(n).i64(k).
		u64(uint64(math.Float32bits(alpha)) | uint64(math.Float32bits(beta))<<32).
		ptr(a).i64(lda).i64(sa).ptr(bm).i64(ldb).i64(sb).ptr(c).i64(ldc).i64(sc)
}

// recordGemm records a product on raw addresses; Gemm checks its Vecs first.
func (b *Backend) recordGemm(transA, transB bool, m, n, k int, alpha float32, a uintptr, lda int, bm uintptr, ldb int, beta float32, c uintptr, ldc int, types gemmTypes) {
	b.record(cmdGemm).flag(transA).flag(transB).i64(m).i64(n).i64(k).f32(alpha).
		ptr(a).i64(lda).ptr(bm).i64(ldb).f32(beta).ptr(c).i64(ldc).i32(int(types))
}
