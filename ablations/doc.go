// Package ablations defines, once, everything an experiment can vary: the
// settings of the ULMFiT method (Howard & Ruder 2018), the named variants of
// its ablation studies, the "paper" and "scripts" recipes, and the scales a
// run can take.
//
// # Variants
//
// Each ablation axis is one key of Settings; its values are the rows of the
// paper's tables (variants.go):
//
//	pretrain     true, false                                      Table 4
//	lm           "awd-lstm", "vanilla"                            Table 5
//	lm_finetune  "none", "full", "full+discr", "full+discr+stlr"  Table 6
//	classifier   "scratch", "full", "full+discr", "last", "chain-thaw",
//	             "freez", "freez+discr", "freez+stlr", "freez+cos",
//	             "freez+discr+stlr"                               Table 7
//	lm_text      "task", "labelled"                               Figure 3
//	tokenizer    "words", "subword"                               MultiFiT (Eisenschlos et al. 2019)
//	precision    "fp32", "tf32", "bf16"                           TensorFloat-32 and bfloat16 products (issues #28, #21)
//	direction    "forward", "backward", "bidirectional"           Section 5
//
// A variant is a typed delta over the defaults: the value of its key, plus
// what it implies (Settings.Resolve): "scratch" trains no language model at
// all, "vanilla" switches off every dropout and AR/TAR of the encoder,
// "words" is the unset tokeniser and "fp32" the unset precision (so records
// without the keys still match).
// Everything else the model's training code reads by name.
//
// # Recipes
//
// Paper returns the defaults: the paper's text, with the authors' scripts'
// values where the text is silent. The "scripts" recipe is the fastai 0.7
// scripts the authors published; Recipe.Differences lists, key by key,
// where it departs from the paper.
//
// # Scales
//
// A Scale sizes a run: "paper" (the paper's model and data), "small" (two
// CPU cores: TREC-6 and subsets of IMDb and AG; Tables 4-7 on TREC-6 with
// three seeds take about an hour and a half) and "tiny" (tests). The method
// does not change with the scale; a scale may adjust rates, dropouts and
// the classifier's batch for its model size (Scale.Tune), and says so.
package ablations
