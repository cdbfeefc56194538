package ablations

import (
	"sort"

	"github.com/ulmfit-go/ulmfit/model"
)

// Recipe is a preset of every Settings value: the paper's text or the
// authors' scripts (fastai 0.7 courses/dl2/imdb_scripts, March 2018).
// Differences lists, key by key, where the recipe departs from "paper",
// with the source of its value.
type Recipe struct {
	Name        string
	Doc         string
	Differences []Difference
	apply       func(*Settings)
}

// Difference is one key where a recipe departs from the paper's text.
type Difference struct {
	Key, Paper, Recipe, Source string
}

// Paper is the paper's recipe, ULMFiT as Howard & Ruder (2018) describe it,
// with every technique on. Where the paper says nothing (pretraining rate,
// weight decay, clipping, LM-stage dropouts) it takes the authors' scripts'
// values, which recipes "paper" and "scripts" then share:
//
//   - Adam betas 0.7 and 0.99, batch 64 for both stages (section 4);
//   - LM fine-tuning lr 0.004, discriminative factor 2.6, STLR cut_frac 0.1
//     and ratio 32 (sections 3.2 and 4);
//   - classifier: Table 7's rates, STLR cut_frac 0.1 and ratio 32, BPT3C
//     chunks of 70 tokens, dropouts 0.4 output, 0.3 hidden, 0.4 input, 0.05
//     embedding, 0.5 weight (section 4);
//   - LM dropouts 0.1, 0.15, 0.25, 0.02, 0.2, AR 2, TAR 1, weight decay
//     1e-7 (LM) and 1e-6 (classifier), clipping 0.3 (LM) and 25
//     (classifier): the scripts;
//   - BPTT 70 with variable lengths (AWD-LSTM, section 4);
//   - validation: 10% of the training set (Tables 4-7).
func Paper() Settings {
	lm := model.DefaultConfig()
	cls := model.ClassifierConfig()
	return Settings{
		Pretrain: true, LM: "awd-lstm", LMFineTune: model.LMFullDiscrSTLR, Classifier: model.ClsFreezDiscrSTLR,
		LMText: "task", Direction: "forward", Recipe: "paper",

		LMDropouts: dropoutsOf(lm), AR: float64(lm.AR), TAR: float64(lm.TAR),
		LMBatch: 64, BPTT: 70, VariableBPTT: true,
		PretrainLR: 0.004, LMLR: 0.004, LMDiscr: model.DiscrPaper,
		LMCutFrac: model.STLRCutFrac, LMRatio: model.STLRRatio,
		LMWeightDecay: 1e-7, LMClip: 0.3,

		ClassifierDropouts: dropoutsOf(cls), ClassifierBatch: 64, ClassifierBPTT: model.ClassifierBPTT,
		ClassifierCutFrac: model.STLRCutFrac, ClassifierRatio: model.STLRRatio, ChainThawEpochs: 1,
		ClassifierWeightDecay: 1e-6, ClassifierClip: 25,

		DiscrFactor: model.DiscriminativeFactor, Beta1: 0.7, Beta2: 0.99, AdamEps: 1e-8,

		ValidationFraction: 0.1, CarveTestFraction: 0.2, SplitSeed: 20180118, PretrainSeed: 1,
	}
}

var recipes = []Recipe{
	{
		Name: "paper",
		Doc:  "the paper's text (section 4, Tables 4-7); the scripts' values where it is silent",
	},
	{
		Name: "scripts",
		Doc:  "the authors' fastai 0.7 imdb_scripts as published in March 2018",
		Differences: []Difference{
			{Key: "beta1", Paper: "0.7", Recipe: "0.8", Source: "scripts: Adam betas (0.8, 0.99)"},
			{Key: "classifier_batch", Paper: "64", Recipe: "32", Source: "scripts: train_clas.py bs=32"},
			{Key: "classifier_ratio", Paper: "32", Recipe: "8", Source: "scripts: use_clr=(8, ...) in the classifier"},
			{Key: "classifier_cut_frac", Paper: "0.1", Recipe: "0.125", Source: "scripts: use_clr=(8, 8), i.e. cut 1/8 (the last stage used 1/3)"},
			{Key: "lm_discr", Paper: `"paper" (eta/2.6 per layer)`, Recipe: `"scripts" ([lr/6, lr/3, lr, lr/2])`, Source: "scripts: finetune_lm.py lrs for LSTM1, LSTM2, LSTM3, embedding+decoder"},
			{Key: "lm_test_text", Paper: "false (the task's training and unlabelled text)", Recipe: "true (the test examples' text too, labels unused)", Source: "scripts: create_toks.py tokenises IMDb's train, test and unsup reviews for the LM"},
		},
		apply: func(s *Settings) {
			s.Beta1 = 0.8
			s.ClassifierBatch = 32
			s.ClassifierRatio = 8
			s.ClassifierCutFrac = 1.0 / 8
			s.LMDiscr = model.DiscrScripts
			s.LMTestText = true
		},
	},
}

// LookupRecipe returns the named recipe.
func LookupRecipe(name string) (Recipe, bool) {
	for _, r := range recipes {
		if r.Name == name {
			return r, true
		}
	}
	return Recipe{}, false
}

// RecipeNames lists the recipes.
func RecipeNames() []string {
	out := make([]string, len(recipes))
	for i, r := range recipes {
		out[i] = r.Name
	}
	sort.Strings(out)
	return out
}

// Settings returns the recipe's full settings.
func (r Recipe) Settings() Settings {
	s := Paper()
	s.Recipe = r.Name
	if r.apply != nil {
		r.apply(&s)
	}
	return s
}

// Recipes lists the recipes, "paper" first.
func Recipes() []Recipe { return append([]Recipe(nil), recipes...) }
