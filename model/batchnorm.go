package model

import "github.com/ulmfit-go/ulmfit/compute"

// Batch normalisation (Ioffe & Szegedy 2015), as torch.nn.BatchNorm1d, the
// first layer of each of the classifier head's two blocks (Howard & Ruder
// 2018, section 3.3): in training each feature is normalised with the
// batch's mean and (biased) variance, then scaled and shifted by the learned
// gamma and beta,
//
//	y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta,
//
// while running averages of the statistics (momentum 0.1, the unbiased
// variance) are kept for evaluation, which uses them in place of the
// batch's. The running statistics are state, not parameters: the optimiser
// never sees them, checkpoints carry them.

// Batch-norm defaults of torch.nn.BatchNorm1d.
const (
	BatchNormMomentum = 0.1
	BatchNormEps      = 1e-5
)

// batchNorm is one layer over C features: its parameters (views of the
// classifier's Params and Grads), its running statistics and the batch
// statistics the training forward saves for the backward.
type batchNorm struct {
	gamma, beta, dgamma, dbeta compute.Vec // (C)
	runMean, runVar            compute.Vec // (C), owned
	mean, invStd               compute.Vec // (C), owned: the last training batch's
	C                          int
}

func newBatchNorm(be compute.Backend, p, g *Params, prefix string) *batchNorm {
	bn := &batchNorm{gamma: p.View(prefix + ".weight"), beta: p.View(prefix + ".bias"),
		dgamma: g.View(prefix + ".weight"), dbeta: g.View(prefix + ".bias")}
	bn.C = bn.gamma.N
	bn.runMean, bn.runVar = be.Alloc(bn.C), be.Alloc(bn.C)
	bn.mean, bn.invStd = be.Alloc(bn.C), be.Alloc(bn.C)
	bn.reset(be)
	return bn
}

// reset sets the running statistics to PyTorch's initial mean 0, variance 1.
func (bn *batchNorm) reset(be compute.Backend) {
	be.Fill(bn.runMean, 0)
	be.Fill(bn.runVar, 1)
}

// forward normalises x (R, C) into y: with the batch's statistics (updating
// the running ones) when train is set, with the running ones otherwise.
func (bn *batchNorm) forward(be compute.Backend, y, x compute.Vec, rows int, train bool, h HeadConfig) {
	if train {
		be.BatchNormTrain(y, x, bn.gamma, bn.beta, bn.mean, bn.invStd, bn.runMean, bn.runVar, rows, bn.C, h.BNMomentum, h.BNEps)
		return
	}
	be.BatchNormEval(y, x, bn.gamma, bn.beta, bn.runMean, bn.runVar, rows, bn.C, h.BNEps)
}

// backward overwrites dx (R, C) and accumulates the parameters' gradients
// from dy, for the last training forward of x.
func (bn *batchNorm) backward(be compute.Backend, dx, dy, x compute.Vec, rows int) {
	be.BatchNormBackward(dx, bn.dgamma, bn.dbeta, dy, x, bn.gamma, bn.mean, bn.invStd, rows, bn.C)
}
