package model

import (
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// BPTT for text classification (BPT3C; Howard & Ruder 2018, section 3.3):
// "We divide the document into fixed-length batches of size b. At the
// beginning of each batch, the model is initialized with the final state of
// the previous batch; we keep track of the hidden states for mean and
// max-pooling; gradients are back-propagated to the batches whose hidden
// states contributed to the final prediction. In practice, we use
// variable length backpropagation sequences." The authors' scripts
// (fastai 0.7 MultiBatchRNN) cut documents into chunks of bptt = 70 tokens
// and keep the chunks that hold the last max_len = 1400 tokens.
//
// Here documents are padded at their end, so every document's chunks start
// at multiples of bptt from its first token, exactly as if it were alone:
//
//   - document b of n_b tokens keeps the chunks that hold any of its last
//     maxLen tokens, from start_b = floor(max(0, n_b - maxLen)/bptt)*bptt;
//     pooling sees all of its kept steps [start_b, n_b) (concatpool.go);
//   - the batch runs chunk by chunk without keeping activations up to
//     keepFrom = min_b start_b, carrying the state, then runs the rest
//     [keepFrom, T) as one stretch that keeps its activations, and the
//     gradient flows back through that stretch and stops at keepFrom.
//
// Running the kept chunks as one stretch computes exactly what running them
// one by one with the state carried computes; it only keeps their
// activations together, as the paper's backward needs them. A document
// whose own window starts after keepFrom (a shorter batch-mate has an
// earlier one) also passes gradient through the recurrence to its steps in
// [keepFrom, start_b); sorting batches by length (sortish.go) keeps that
// small. Padding after a document's end neither reaches its outputs nor
// receives gradient.

// padID fills the steps after a document's end. Its value never matters
// (the padding follows the document), and id 0 exists in every vocabulary.
const padID = 0

// bpt3cBatch is one padded batch of documents.
type bpt3cBatch struct {
	T, B     int
	ids      []int32 // (T, B) time-major, padded after each document's end
	lengths  []int
	labels   []int32 // (B); nil when predicting
	keepFrom int     // the first step of the gradient stretch, a multiple of bptt
	spans    []int32 // (B, 2): each document's pooling span, relative to keepFrom
}

// bpt3cWindow is the first step of the chunks that hold any of the last
// maxLen of n tokens.
func bpt3cWindow(n, bptt, maxLen int) int {
	return max(0, n-maxLen) / bptt * bptt
}

// makeBatch pads the documents docs[idx[b]] into dst (reusing its slices),
// with labels[idx[b]] when labels is not nil.
func makeBatch(dst *bpt3cBatch, docs [][]int32, labels []int, idx []int, bptt, maxLen int) error {
	B := len(idx)
	T := 0
	for _, i := range idx {
		if len(docs[i]) == 0 {
			return fmt.Errorf("model: document %d is empty; every document needs at least one token (its xxbos)", i)
		}
		T = max(T, len(docs[i]))
	}
	dst.T, dst.B = T, B
	dst.ids = resize(dst.ids, T*B)
	dst.lengths = resize(dst.lengths, B)
	dst.spans = resize(dst.spans, 2*B)
	dst.keepFrom = T
	for b, i := range idx {
		doc := docs[i]
		dst.lengths[b] = len(doc)
		for t := 0; t < T; t++ {
			id := int32(padID)
			if t < len(doc) {
				id = doc[t]
			}
			dst.ids[t*B+b] = id
		}
		dst.keepFrom = min(dst.keepFrom, bpt3cWindow(len(doc), bptt, maxLen))
	}
	for b, n := range dst.lengths {
		dst.spans[2*b] = int32(bpt3cWindow(n, bptt, maxLen) - dst.keepFrom)
		dst.spans[2*b+1] = int32(n - dst.keepFrom)
	}
	dst.labels = dst.labels[:0]
	if labels != nil {
		for _, i := range idx {
			dst.labels = append(dst.labels, int32(labels[i]))
		}
	}
	return nil
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// keptSteps is the length of the batch's gradient stretch.
func (b *bpt3cBatch) keptSteps() int { return b.T - b.keepFrom }

// encodeBPT3C runs the encoder over the batch from a zero state with the
// masks (nil: evaluation) and returns the workspace holding the kept
// stretch's activations, ready for backwardLayers, and the last layer's raw
// outputs over it, (keptSteps, B, E). ms.Output must be nil: the classifier
// drops its pooled features in the head instead.
func (m *LM) encodeBPT3C(b *bpt3cBatch, bptt int, ms *Masks, st *State) (*workspace, compute.Vec, error) {
	if err := m.checkTokens("classifier", "document tokens", b.ids); err != nil {
		return nil, compute.Vec{}, err
	}
	if err := m.checkState("classifier", st, b.B); err != nil {
		return nil, compute.Vec{}, err
	}
	if ms != nil {
		if ms.Output != nil {
			return nil, compute.Vec{}, fmt.Errorf("model: classifier: the encoder takes no output dropout mask")
		}
		if err := ms.validate(m.cfg, b.B); err != nil {
			return nil, compute.Vec{}, fmt.Errorf("model: classifier: %w", err)
		}
	}
	B, Tk := b.B, b.keptSteps()
	ws := m.workspace(max(Tk, min(bptt, b.keepFrom)), B)
	m.setMasks(ws, ms)
	st.Reset()
	for t0 := 0; t0 < b.keepFrom; t0 += bptt {
		n := min(bptt, b.keepFrom-t0)
		m.be.UploadInt(ws.ids.Slice(0, n*B), b.ids[t0*B:(t0+n)*B])
		m.forward(ws, n, B, st)
	}
	m.be.UploadInt(ws.ids.Slice(0, Tk*B), b.ids[b.keepFrom*B:])
	m.forward(ws, Tk, B, st)
	return ws, m.rawOutput(ws, Tk, B), nil
}
