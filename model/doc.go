// Package model is the AWD-LSTM language model (Merity et al. 2017) of
// ULMFiT (Howard & Ruder 2018) and the techniques that train it, one file
// per technique under the paper's name:
//
//	awdlstm.go          the model: forward, backward, evaluation, state
//	embeddingdropout.go lockeddropout.go weightdrop.go   the dropouts
//	lstm.go decoder.go  the LSTM layer over time and the tied decoder with softmax cross-entropy
//	ar.go tar.go        activation and temporal activation regularisation
//	params.go           the flat parameter buffer, its named views and layer groups
//	adam.go clip.go     the optimiser and gradient-norm clipping
//	bptt.go lmtrainer.go  variable-length BPTT batching and the LM training loop
//	checkpoint.go convert.go  checkpoints and vocabulary conversion
//
// Every layer is a forward/backward function pair over compute.Vec buffers
// of a compute.Backend, so the model runs on any backend the compute package
// provides.
package model
