package model

import (
	"fmt"
	"slices"
)

// Bidirectional language models (Howard & Ruder 2018, section 3.3,
// "Bidirectional language model"): "we pretrain both a
// forward and a backward LM. We fine-tune a classifier for each LM
// independently using BPT3C and average the classifier predictions." The
// backward model is the same pipeline (pretraining, LM fine-tuning,
// classifier) run on reversed text, so only the data changes.
//
// Reversal keeps a document's leading xxbos first: [xxbos, t_1, ..., t_n]
// becomes [xxbos, t_n, ..., t_1]. Both directions thus start every document
// from the same marker, an LM stream still has xxbos at each document's
// start, and the classifier's documents keep their first-token convention.
// The backward LM, its fine-tuning stream and its classifier's documents
// must all be reversed with these helpers, so the convention is the same at
// every stage.

// ReverseDoc returns doc's tokens in reverse order with a leading bos kept
// first; with bos < 0, or no bos at the start, every token is reversed.
func ReverseDoc(doc []int32, bos int32) []int32 {
	out := slices.Clone(doc)
	body := out
	if bos >= 0 && len(out) > 0 && out[0] == bos {
		body = out[1:]
	}
	slices.Reverse(body)
	return out
}

// ReverseDocs applies ReverseDoc to every document.
func ReverseDocs(docs [][]int32, bos int32) [][]int32 {
	out := make([][]int32, len(docs))
	for i, d := range docs {
		out[i] = ReverseDoc(d, bos)
	}
	return out
}

// ReverseStream reverses every document of an LM token stream in place of
// it: the documents start at each bos (tokens before the first one form a
// document of their own) and keep their order; each is reversed by
// ReverseDoc.
func ReverseStream(stream []int32, bos int32) []int32 {
	out := make([]int32, 0, len(stream))
	start := 0
	for i := 1; i <= len(stream); i++ {
		if i == len(stream) || stream[i] == bos {
			out = append(out, ReverseDoc(stream[start:i], bos)...)
			start = i
		}
	}
	return out
}

// EnsembleProbs averages the class probabilities of two models, document by
// document.
func EnsembleProbs(a, b [][]float32) ([][]float32, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("model: ensemble: %d and %d documents", len(a), len(b))
	}
	out := make([][]float32, len(a))
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return nil, fmt.Errorf("model: ensemble: document %d has %d and %d classes", i, len(a[i]), len(b[i]))
		}
		out[i] = make([]float32, len(a[i]))
		for k := range a[i] {
			out[i][k] = (a[i][k] + b[i][k]) / 2
		}
	}
	return out, nil
}

// BidirectionalResult is the error, in percent, of the forward classifier,
// the backward one and their average.
type BidirectionalResult struct {
	Forward, Backward, Ensemble float64
	Predicted                   []int // the ensemble's class per document
}

// EvaluateBidirectional scores a forward classifier on data and a backward
// one on data's documents reversed (ReverseDocs with bos), and the ensemble
// that averages their probabilities.
func EvaluateBidirectional(fwd, bwd *Classifier, data ClassData, bos int32) (BidirectionalResult, error) {
	if fwd.Classes != bwd.Classes {
		return BidirectionalResult{}, fmt.Errorf("model: bidirectional: the forward classifier has %d classes, the backward %d", fwd.Classes, bwd.Classes)
	}
	if err := data.check(fwd.Classes); err != nil {
		return BidirectionalResult{}, err
	}
	pf, err := fwd.Predict(data.Docs)
	if err != nil {
		return BidirectionalResult{}, err
	}
	pb, err := bwd.Predict(ReverseDocs(data.Docs, bos))
	if err != nil {
		return BidirectionalResult{}, err
	}
	pe, err := EnsembleProbs(pf, pb)
	if err != nil {
		return BidirectionalResult{}, err
	}
	return BidirectionalResult{Forward: errorPercent(pf, data.Labels), Backward: errorPercent(pb, data.Labels),
		Ensemble: errorPercent(pe, data.Labels), Predicted: Predicted(pe)}, nil
}
