package model

import "fmt"

// Gradual unfreezing (Howard & Ruder 2018, section 3.3): "we first unfreeze
// the last layer and fine-tune all unfrozen layers for one epoch. We then
// unfreeze the next lower frozen layer and repeat, until we fine-tune all
// layers until convergence at the last iteration." Training the whole
// network at once from the start risks catastrophic forgetting of the
// pretrained features; thawing from the top lets the new head settle first.
// (The authors' classifier script, fastai 0.7 imdb_scripts/train_clas.py,
// thaws the head, then the last LSTM too, then everything.)

// GradualUnfreezing returns, for each of epochs epochs, which of groups
// layer groups (bottom to top, as Params.Groups) train: epoch e trains the
// top e+1 groups, and from epoch groups-1 on all of them.
func GradualUnfreezing(groups, epochs int) [][]bool {
	plan := make([][]bool, epochs)
	for e := range plan {
		plan[e] = make([]bool, groups)
		for g := range plan[e] {
			plan[e][g] = g >= groups-1-e
		}
	}
	return plan
}

// trainAll is the plan of full fine-tuning: every group, every epoch.
func trainAll(groups, epochs int) [][]bool { return trainTop(groups, epochs, groups) }

// trainTop trains only the top n groups, every epoch ("last": n = 1).
func trainTop(groups, epochs, n int) [][]bool {
	plan := make([][]bool, epochs)
	for e := range plan {
		plan[e] = make([]bool, groups)
		for g := groups - n; g < groups; g++ {
			plan[e][g] = true
		}
	}
	return plan
}

// describeTrainable names the training groups of one epoch, e.g. "head",
// "rnn.2+head" or "all", for histories and logs.
func describeTrainable(trainable []bool, names []string) string {
	s, n := "", 0
	for g, on := range trainable {
		if on {
			if n > 0 {
				s += "+"
			}
			s += names[g]
			n++
		}
	}
	switch n {
	case len(trainable):
		return "all"
	case 0:
		return "none"
	}
	return s
}

// checkPlan checks a plan's shape.
func checkPlan(plan [][]bool, groups int) error {
	for e, p := range plan {
		if len(p) != groups {
			return fmt.Errorf("model: epoch %d of the plan names %d groups, the model has %d", e, len(p), groups)
		}
	}
	return nil
}
