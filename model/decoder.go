package model

import "github.com/ulmfit-go/ulmfit/compute"

// The tied decoder (Inan et al. 2017; Press & Wolf 2017) reuses the embedding
// matrix as the output projection, followed by softmax cross-entropy:
//
//	logits = out * encoder.weight^T + decoder.bias        (N, V)
//	CE     = 1/N * sum_n -log softmax(logits[n])[target[n]]
//
// The N x V logits are never held at once (at the paper's shape they are
// 4480 x 60000 floats, 1 GiB): token rows go through in chunks (see
// decoderChunk), and each
// chunk's logits become its gradient in place (SoftmaxCrossEntropy), which
// is folded into d(out), the decoder's share of d(encoder.weight) and
// d(decoder.bias) before the next chunk reuses the buffer.

// bf16Decoder is implemented by a backend that can run the whole decoder
// itself with the logits, their gradient and the products' operands stored
// in bfloat16, as torch.autocast(bfloat16) stores them (compute/cuda at
// Precision BF16). DecodeBF16 reports false, doing nothing, when the
// backend is not in that mode; its arguments are decoderForward's, with
// dbias accumulated directly.
type bf16Decoder interface {
	DecodeBF16(n, vocab, emb int, out, enc, bias compute.Vec, targets compute.IVec, losses compute.Vec, scale float32, dout, denc, dbias compute.Vec) bool
}

// decoderShape: N token rows, vocabulary V, width E, Chunk rows per pass.
type decoderShape struct{ N, V, E, Chunk int }

// decoderForward writes the N per-token losses for out (N, E). When dout.N
// is not 0 it also runs the backward for the loss scale * sum(losses):
//
//	dout  (N, E)      overwritten with scale * dlogits * enc
//	denc  (V, E)      += scale * dlogits^T * out
//	dbias (V)         += scale * column sums of dlogits (dbsum (V) is scratch)
//
// logits (Chunk, V) is scratch. A backend in bfloat16 mode (bf16Decoder)
// runs it all itself, and logits is then never allocated (256 MiB at the
// paper's shape).
func decoderForward(be compute.Backend, s decoderShape, out, enc, bias compute.Vec, targets compute.IVec,
	scratch *lazyVec, losses compute.Vec, scale float32, dout, denc, dbias, dbsum compute.Vec) {
	if d, ok := be.(bf16Decoder); ok && d.DecodeBF16(s.N, s.V, s.E, out, enc, bias, targets, losses, scale, dout, denc, dbias) {
		return
	}
	logits := scratch.get(be)
	grad := dout.N != 0
	if grad {
		be.Fill(dbsum, 0)
	}
	for r0 := 0; r0 < s.N; r0 += s.Chunk {
		n := min(s.Chunk, s.N-r0)
		lg := logits.Slice(0, n*s.V)
		o := out.Slice(r0*s.E, (r0+n)*s.E)
		be.Gemm(false, true, n, s.V, s.E, 1, o, s.E, enc, s.E, 0, lg, s.V)
		be.AddRowVector(lg, bias, n, s.V)
		be.SoftmaxCrossEntropy(lg, targets.Slice(r0, r0+n), losses.Slice(r0, r0+n), n, s.V)
		if !grad {
			continue
		}
		be.Gemm(false, false, n, s.E, s.V, scale, lg, s.V, enc, s.E, 0, dout.Slice(r0*s.E, (r0+n)*s.E), s.E)
		// The last chunk's logits stay until the next batch and denc is
		// read by nothing before the embedding's backward, which joins:
		// the product may run beside the layers' backward (besideWork).
		w, side := be.(besideWork)
		side = side && r0+n == s.N
		if side {
			w.BeginBeside()
		}
		be.Gemm(true, false, s.V, s.E, n, scale, lg, s.V, o, s.E, 1, denc, s.E)
		if side {
			w.EndBeside()
		}
		be.SumRows(dbsum, lg, n, s.V)
	}
	if grad {
		be.Axpy(scale, dbsum, dbias)
	}
}

// besideWork is a backend that can run work on a second stream beside
// what is issued after it (compute/cuda with Options.Streams): the work
// between BeginBeside and EndBeside goes there, and JoinBeside makes what
// follows wait for it. The model hands it only work whose inputs nothing
// after it overwrites and whose results nothing reads before the join:
// each LSTM layer's weight gradients (backwardLayers) and the decoder's
// last d(encoder.weight) product, joined before the embedding's backward
// adds to the encoder's gradient. (ForwardBackward reads its sums back
// after the backward: a read-back waits for the side stream too.)
type besideWork interface {
	BeginBeside()
	EndBeside()
	JoinBeside()
	// BesideOn says whether the work goes to a second stream at all (the
	// workspace then gives each layer its own dL/d(gates)).
	BesideOn() bool
}

func joinBeside(be compute.Backend) {
	if w, ok := be.(besideWork); ok {
		w.JoinBeside()
	}
}

// lazyVec is a device buffer of n floats allocated on its first get: the
// decoder's float32 logits, which a backend decoding in bfloat16 never uses.
// Free v when done (an unallocated one is the empty Vec, which Free ignores).
type lazyVec struct {
	v compute.Vec
	n int
}

func (l *lazyVec) get(be compute.Backend) compute.Vec {
	if l.v.N == 0 && l.n > 0 {
		l.v = be.Alloc(l.n)
	}
	return l.v
}
