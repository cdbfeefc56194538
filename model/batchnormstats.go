package model

import "fmt"

// BatchNormStats returns copies of the head's batch-norm running
// statistics, (C) each: bn1's mean and variance, then bn2's, as
// torch.nn.BatchNorm1d's running_mean and running_var. They are state, not
// parameters (see batchnorm.go); exporters need them beside Params.
func (c *Classifier) BatchNormStats() [4][]float32 {
	var out [4][]float32
	for i, v := range c.runningStats() {
		out[i] = make([]float32, v.N)
		c.be.Download(out[i], v)
	}
	return out
}

// SetBatchNormStats sets the running statistics BatchNormStats returns,
// each of its layer's width, as an importer of a trained head does.
func (c *Classifier) SetBatchNormStats(stats [4][]float32) error {
	vs := c.runningStats()
	for i, v := range vs {
		if len(stats[i]) != v.N {
			return fmt.Errorf("model: batch-norm statistics %d have %d values, want %d", i, len(stats[i]), v.N)
		}
	}
	for i, v := range vs {
		c.be.Upload(v, stats[i])
	}
	return nil
}
