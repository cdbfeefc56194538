// Package interop moves language models between ulmfit-go and fastai /
// PyTorch: it reads torch.save checkpoints (the zip format of torch >= 1.6
// and the legacy format before it) and pickled vocabularies (itos.pkl),
// maps fastai's AWD_LSTM LM state dict (v1 or v2) onto model.Params
// (FromFastai, LoadFastaiLM, ConvertLM), and writes our models back in
// fastai's layout (FastaiStateDict for the LM, FastaiClassifierStateDict for
// the classifier, fastai v1's) as a torch.save zip checkpoint (WriteTorch,
// SaveFastaiTorch), as safetensors (WriteSafetensors), and our vocabulary
// as itos.pkl (WriteItos). Whole files, with their vocabularies, go through
// ImportFastaiLM and SaveImported ('ulmfit import') and ExportTorch ('ulmfit
// export-torch'), whose InputError tells a file that cannot be used from a
// failure while converting or writing.
//
// The fixtures under testdata come from testdata/make_fastai_lm.py, run with
// PyTorch; the tests check our LM's logits against PyTorch's for the same
// weights, and testdata/check_torch_export.py has PyTorch load and run our
// exports.
package interop
