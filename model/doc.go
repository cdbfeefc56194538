// Package model is the AWD-LSTM language model (Merity et al. 2017) of
// ULMFiT (Howard & Ruder 2018), its classifier, and the techniques that
// train them, one file per technique under the paper's name:
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
// and ULMFiT's fine-tuning (sections 3.2 and 3.3, Tables 6 and 7):
//
//	stlr.go cosine.go discr.go  slanted triangular rates, cosine annealing, discriminative rates
//	lmfinetune.go       target-task LM fine-tuning (FineTuneLM, LoadPretrainedLM)
//	classifier.go       the classifier: encoder, concat pooling, the batch-norm head; Predict, Evaluate
//	bpt3c.go concatpool.go batchnorm.go  BPT3C, concat pooling, batch normalisation
//	gradualunfreezing.go chainthaw.go    which layer groups train each epoch
//	sortish.go clstrainer.go  length-sorted batches and the classifier training loop (TrainClassifier)
//	bidirectional.go    reversed documents and the forward+backward ensemble
//	clscheckpoint.go bundle.go  classifier checkpoints and self-contained bundles for prediction
//
// Every layer is a forward/backward function pair over compute.Vec buffers
// of a compute.Backend, so the model runs on any backend the compute package
// provides.
package model
