package model

import "fmt"

// Chain-thaw (Felbo et al. 2017, "Using millions of emoji occurrences to
// learn any-domain representations", section 3.3), which ULMFiT's Table 7
// compares with gradual unfreezing: "first fine-tune any new layers (only
// the softmax layer) to the target task until convergence on a validation
// set. Then [...] fine-tune each layer individually starting from the first
// layer in the network. Lastly, the entire model is trained with all
// layers." ULMFiT trains it with 0.001 for the last layer and 0.0001 for the
// others (Table 7's caption).

// ChainThaw returns, for each of epochs epochs, which of groups layer groups
// (bottom to top, the top one being the new head) train: the head alone,
// then each group alone from the bottom (groups 0, 1, ..., groups-2), each
// stage for stageEpochs epochs, then every group for the remaining epochs,
// of which there must be at least one.
func ChainThaw(groups, epochs, stageEpochs int) ([][]bool, error) {
	if stageEpochs < 1 {
		return nil, fmt.Errorf("model: chain-thaw: %d epochs a stage, want at least 1", stageEpochs)
	}
	if need := groups*stageEpochs + 1; epochs < need {
		return nil, fmt.Errorf("model: chain-thaw over %d groups with %d epoch(s) a stage needs at least %d epochs (one stage per group, then all), got %d",
			groups, stageEpochs, need, epochs)
	}
	order := append([]int{groups - 1}, make([]int, groups-1)...)
	for g := 0; g < groups-1; g++ {
		order[g+1] = g
	}
	plan := make([][]bool, epochs)
	for e := range plan {
		plan[e] = make([]bool, groups)
		if stage := e / stageEpochs; stage < groups {
			plan[e][order[stage]] = true
			continue
		}
		for g := range plan[e] {
			plan[e][g] = true
		}
	}
	return plan, nil
}
