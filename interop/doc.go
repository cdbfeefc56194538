// Package interop moves language models between ulmfit-go and fastai v1 /
// PyTorch: it reads torch.save checkpoints (the zip format of torch >= 1.6
// and the legacy format before it) and pickled vocabularies (itos.pkl),
// maps fastai v1's AWD_LSTM LM state dict onto model.Params (FromFastai,
// LoadFastaiLM, ConvertLM), and exports our parameters as safetensors under
// fastai's key names (WriteSafetensors).
//
// The fixtures under testdata come from testdata/make_fastai_lm.py, run with
// PyTorch; the tests check our LM's logits against PyTorch's for the same
// weights.
package interop
