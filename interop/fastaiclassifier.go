package interop

import (
	"fmt"
	"strings"

	"github.com/ulmfit-go/ulmfit/model"
)

// fastai v1's text classifier (get_text_classifier: SequentialRNN(
// MultiBatchEncoder(bptt, max_len, AWD_LSTM), PoolingLinearClassifier))
// names its state dict
//
//	0.module.<key>                  the LM's 0.<key> (FastaiV1): the encoder
//	1.layers.<i>.weight, .bias,     BatchNorm1d(3E) of the pooled features
//	  .running_mean, .running_var
//	1.layers.<j>.weight, .bias      Linear(3E, Hidden)
//	1.layers.<k>.*                  BatchNorm1d(Hidden)
//	1.layers.<m>.weight, .bias      Linear(Hidden, C)
//
// where bn_drop_lin lays each block out as BatchNorm1d, Dropout (only when
// its p is not 0), Linear, then the block's activation (ReLU after the
// first): with both dropouts, i, j, k, m = 0, 2, 4, 6. The pooled features
// are [h_T, maxpool, meanpool], which is our order (model.Classifier), and
// the head is ours block for block. BatchNorm1d's num_batches_tracked, an
// int64 counter used only when momentum is None, is left out: PyTorch's
// load_state_dict fills it in for a state dict without version metadata,
// which ours is.
//
// fastai v2 is not mapped: its LinBnDrop builds the Linear after a batch
// norm without a bias (bias=not bn), which our head has.

// FastaiClassifierStateDict lays the classifier c out as fastai v1's text
// classifier state dict: its encoder under 0.module., its head under
// 1.layers. with the batch norms' running statistics.
func FastaiClassifierStateDict(c *model.Classifier) *StateDict {
	p := c.Params
	sd := &StateDict{Tensors: map[string]*Tensor{}}
	add := func(key string, t *Tensor) {
		sd.Names = append(sd.Names, key)
		sd.Tensors[key] = t
	}
	enc := FastaiStateDict(p, FastaiV1)
	for _, key := range enc.Names {
		if strings.HasPrefix(key, "0.") {
			add("0.module."+strings.TrimPrefix(key, "0."), enc.Tensors[key])
		}
	}
	param := func(name string) *Tensor { return &Tensor{Shape: p.Shape(name), Data: p.Get(name)} }
	stats := c.BatchNormStats()
	layer := 0
	block := func(bn, lin string, dropout float32, mean, variance []float32, activation bool) {
		prefix := fmt.Sprintf("1.layers.%d.", layer)
		add(prefix+"weight", param(bn+".weight"))
		add(prefix+"bias", param(bn+".bias"))
		add(prefix+"running_mean", &Tensor{Shape: []int{len(mean)}, Data: mean})
		add(prefix+"running_var", &Tensor{Shape: []int{len(variance)}, Data: variance})
		layer++
		if dropout != 0 {
			layer++
		}
		prefix = fmt.Sprintf("1.layers.%d.", layer)
		add(prefix+"weight", param(lin+".weight"))
		add(prefix+"bias", param(lin+".bias"))
		layer++
		if activation {
			layer++
		}
	}
	block("head.bn1", "head.lin1", c.Head.Dropout1, stats[0], stats[1], true)
	block("head.bn2", "head.lin2", c.Head.Dropout2, stats[2], stats[3], false)
	return sd
}
