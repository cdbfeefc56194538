package model

import "github.com/ulmfit-go/ulmfit/compute"

// Embedding dropout (Gal & Ghahramani 2016, section 4.2; AWD-LSTM's
// embedded_dropout, Merity et al. 2017, section 4.3) drops whole words: row w
// of the embedding matrix is scaled by r_w, 0 with probability p and
// 1/(1-p) otherwise, for the whole batch,
//
//	x[n, :] = r[ids[n]] * encoder.weight[ids[n], :].
//
// Only the encoder sees the dropped matrix; the tied decoder reads the raw one.

// embeddingForward gathers x (N, E) = table[ids] with rows scaled by rows (V),
// or unscaled when rows.N == 0.
func embeddingForward(be compute.Backend, x, table compute.Vec, ids compute.IVec, rows compute.Vec, emb int) {
	be.Gather(x, table, ids, emb, rows)
}

// embeddingBackward accumulates dtable[ids[n], :] += rows[ids[n]] * dx[n, :].
func embeddingBackward(be compute.Backend, dtable, dx compute.Vec, ids compute.IVec, rows compute.Vec, emb int) {
	be.ScatterAdd(dtable, dx, ids, emb, rows)
}
