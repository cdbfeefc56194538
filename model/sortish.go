package model

import (
	"math/rand/v2"
	"sort"
)

// Sortish batching (fastai 0.7's SortishSampler, which the authors' scripts
// train the classifier with): documents of a batch are padded to the longest
// one, so batches of similar lengths waste little; but fully sorted batches
// would come in the same order every epoch. So the documents are shuffled,
// cut into buckets of 50 batches, each bucket sorted by length, longest
// first, and cut into batches; the batch that holds the longest document
// goes first (a too-large batch fails at once, not hours in) and the others
// follow in random order.

// sortishBucketBatches is the number of batches per sorted bucket (fastai's
// bs*50).
const sortishBucketBatches = 50

// sortishBatches returns the batches of document indices for one epoch.
// A last batch of a single document joins the batch before it, since batch
// normalisation needs two rows.
func sortishBatches(lengths []int, batch int, rng *rand.Rand) [][]int {
	n := len(lengths)
	order := rng.Perm(n)
	bucket := batch * sortishBucketBatches
	for i := 0; i < n; i += bucket {
		part := order[i:min(i+bucket, n)]
		sort.SliceStable(part, func(a, b int) bool { return lengths[part[a]] > lengths[part[b]] })
	}
	var batches [][]int
	for i := 0; i < n; i += batch {
		batches = append(batches, order[i:min(i+batch, n)])
	}
	if k := len(batches); k > 1 && len(batches[k-1]) == 1 {
		batches[k-2] = append(batches[k-2][:len(batches[k-2]):len(batches[k-2])], batches[k-1]...)
		batches = batches[:k-1]
	}
	if len(batches) == 0 {
		return nil
	}
	longest, most := 0, -1
	for i, b := range batches {
		for _, d := range b {
			if lengths[d] > most {
				longest, most = i, lengths[d]
			}
		}
	}
	batches[0], batches[longest] = batches[longest], batches[0]
	rest := batches[1:]
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return batches
}
