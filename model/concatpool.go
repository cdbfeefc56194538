package model

import "github.com/ulmfit-go/ulmfit/compute"

// Concat pooling (Howard & Ruder 2018, section 3.3, equation 4): the
// classifier sees the last hidden state of the document and, since "the
// signal in text classification tasks is often contained in a few words,
// which may occur anywhere in the document", the max- and mean-pool of the
// last layer's outputs H = {h_1, ..., h_T} over time:
//
//	h_c = [h_T, maxpool(H), meanpool(H)]          (B, 3E)
//
// Documents of a batch have different lengths: each is padded at its end
// and pools over its own span of steps [start_b, end_b) only (see bpt3c.go
// for the spans), so a document gives the same features alone as padded in a
// batch. The backward sends the h_T part to step end_b-1, the max part to
// the step that held the maximum (the first one on ties) and the mean part
// evenly over the span.

// concatPoolForward writes out (B, 3E) from h (T, B, E) over spans (2B).
func concatPoolForward(be compute.Backend, out, h compute.Vec, spans compute.IVec, T, B, E int) {
	be.ConcatPool(out, h, spans, T, B, E)
}

// concatPoolBackward overwrites dh (T, B, E) with the gradient of dout
// (B, 3E); 0 outside the spans.
func concatPoolBackward(be compute.Backend, dh, dout, h compute.Vec, spans compute.IVec, T, B, E int) {
	be.ConcatPoolBackward(dh, dout, h, spans, T, B, E)
}
