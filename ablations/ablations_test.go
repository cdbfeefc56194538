package ablations

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// Every recipe and scale is valid, and every variant of every axis
// resolves to settings that pass Check.
func TestPresetsAreValid(t *testing.T) {
	for _, r := range Recipes() {
		if err := r.Settings().Check(); err != nil {
			t.Errorf("recipe %s: %v", r.Name, err)
		}
	}
	for _, name := range ScaleNames() {
		sc, _ := LookupScale(name)
		if err := sc.Check(); err != nil {
			t.Errorf("scale %s: %v", name, err)
		}
	}
	for _, key := range Axes() {
		for _, v := range Variants(key) {
			s := Paper()
			set(t, &s, key, v.Name)
			if err := s.Resolve().Check(); err != nil {
				t.Errorf("%s = %s: %v", key, v.Name, err)
			}
		}
	}
}

// set assigns an axis value by its toml key.
func set(t *testing.T, s *Settings, key, value string) {
	t.Helper()
	rv := reflect.ValueOf(s).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if rv.Type().Field(i).Tag.Get("toml") != key {
			continue
		}
		f := rv.Field(i)
		if f.Kind() == reflect.Bool {
			f.SetBool(value == "true")
		} else {
			f.SetString(value)
		}
		return
	}
	t.Fatalf("no key %s", key)
}

// The axes list the model's variants in the paper's order, so the two
// packages cannot drift apart.
func TestAxesMatchTheModel(t *testing.T) {
	names := func(vs []Variant) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	if got, want := names(Variants("classifier")), model.ClassifierVariants(); !reflect.DeepEqual(got, want) {
		t.Errorf("classifier variants %v, the model's %v", got, want)
	}
	if got, want := names(Variants("lm_finetune")), model.LMFineTuneVariants(); !reflect.DeepEqual(got, want) {
		t.Errorf("LM fine-tuning variants %v, the model's %v", got, want)
	}
}

// A variant's delta is what the paper says it is.
func TestVariantDeltas(t *testing.T) {
	s := Paper()
	s.Classifier = model.ClsScratch
	r := s.Resolve()
	if r.Pretrain || r.LMFineTune != model.LMNone || r.UsesLM() {
		t.Errorf("scratch: pretrain %v, lm_finetune %s", r.Pretrain, r.LMFineTune)
	}
	s = Paper()
	s.LM = "vanilla"
	r = s.Resolve()
	if r.LMDropouts != (Dropouts{}) || r.AR != 0 || r.TAR != 0 {
		t.Errorf("vanilla LM keeps regularisation: %+v AR %g TAR %g", r.LMDropouts, r.AR, r.TAR)
	}
	if r.ClassifierDropouts.Output != Paper().ClassifierDropouts.Output || r.ClassifierDropouts.Weight != 0 {
		t.Errorf("vanilla classifier dropouts %+v: the head keeps its dropout, the encoder none", r.ClassifierDropouts)
	}
	if p := Paper(); p.Resolve() != p {
		t.Error("resolving the defaults changed them")
	}
}

// The scripts recipe differs from the paper exactly where it says.
func TestRecipeDifferences(t *testing.T) {
	paper, _ := LookupRecipe("paper")
	scripts, _ := LookupRecipe("scripts")
	a, b := paper.Settings(), scripts.Settings()
	differ := map[string]bool{"recipe": true}
	for _, d := range scripts.Differences {
		differ[d.Key] = true
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		key := va.Type().Field(i).Tag.Get("toml")
		same := reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface())
		if same == differ[key] {
			t.Errorf("%s: paper %v, scripts %v, listed as different: %v", key, va.Field(i), vb.Field(i), differ[key])
		}
	}
}

// Check names the key and the valid choices.
func TestCheckErrors(t *testing.T) {
	s := Paper()
	s.LMFineTune = "full+stlr"
	var ce *ChoiceError
	if err := s.Check(); !errors.As(err, &ce) || ce.Key != "lm_finetune" || !strings.Contains(err.Error(), `"full+discr+stlr"`) {
		t.Errorf("unknown variant: %v", err)
	}
	s = Paper()
	s.ClassifierDropouts.Weight = 1
	var re *RangeError
	if err := s.Check(); !errors.As(err, &re) || re.Key != "classifier_dropouts.weight" {
		t.Errorf("dropout 1: %v", err)
	}
	sc, _ := LookupScale("tiny")
	sc.ClassifierEpochs = 0
	if err := sc.Check(); !errors.As(err, &re) || re.Key != "classifier_epochs" {
		t.Errorf("0 epochs: %v", err)
	}
}

// The model configurations carry the settings and the scale.
func TestModelConfigs(t *testing.T) {
	sc, _ := LookupScale("small")
	s := Paper()
	lm := s.LMConfig(sc, 500)
	if err := lm.Validate(); err != nil || lm.Vocab != 500 || lm.Emb != sc.Emb || lm.WeightDropout != float32(s.LMDropouts.Weight) {
		t.Errorf("LM config %+v (%v)", lm, err)
	}
	ct := s.ClassifierTrainConfig(sc, 3)
	if ct.Epochs != sc.ClassifierEpochs || ct.MaxLen != sc.MaxLen || ct.Batch != 64 || ct.Seed != 3 || ct.Adam.ClipNorm != 25 {
		t.Errorf("classifier config %+v", ct)
	}
	ft := s.LMFineTuneConfig(sc, 3)
	if ft.Epochs != sc.LMEpochs || ft.LR != 0.004 || ft.Variant != model.LMFullDiscrSTLR {
		t.Errorf("fine-tuning config %+v", ft)
	}
	if Limit(sc.MaxTrain, "imdb") != 1000 || Limit(sc.MaxTrain, "trec6") != 0 {
		t.Errorf("limits %v", sc.MaxTrain)
	}
}

// TestScaleTune: the multipliers reach the rates and dropouts they name and
// nothing else, 0 leaves the settings alone, and a dropout pushed to 1 is an
// error naming it.
func TestScaleTune(t *testing.T) {
	base := Paper()
	sc := Scale{Name: "x", LMLRMult: 2.5, ClassifierDropMult: 0.5}
	got, err := sc.Tune(base)
	if err != nil {
		t.Fatal(err)
	}
	if got.PretrainLR != base.PretrainLR*2.5 || got.LMLR != base.LMLR*2.5 {
		t.Errorf("rates %g %g, want %g %g", got.PretrainLR, got.LMLR, base.PretrainLR*2.5, base.LMLR*2.5)
	}
	if got.ClassifierDropouts.Weight != base.ClassifierDropouts.Weight*0.5 || got.ClassifierDropouts.Output != base.ClassifierDropouts.Output*0.5 {
		t.Errorf("classifier dropouts %+v, want half of %+v", got.ClassifierDropouts, base.ClassifierDropouts)
	}
	if got.LMDropouts != base.LMDropouts || got.ClassifierLR != base.ClassifierLR {
		t.Errorf("Tune changed settings it does not name")
	}
	same, err := Scale{Name: "paper"}.Tune(base)
	if err != nil || same != base {
		t.Errorf("a scale without multipliers changed the settings (err %v)", err)
	}
	if _, err := (Scale{Name: "x", ClassifierDropMult: 2}).Tune(base); err == nil || !strings.Contains(err.Error(), "classifier_dropouts.weight") {
		t.Errorf("dropout 0.5 x 2: got %v, want an error naming classifier_dropouts.weight", err)
	}
	bad := Scale{Name: "x", Emb: 1, Layers: 1, PretrainVocab: 1, Vocab: 1, PretrainEpochs: 1, LMEpochs: 1, ClassifierEpochs: 1, MaxLen: 1, PretrainCorpus: "c", LMLRMult: -1}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "lm_lr_mult") {
		t.Errorf("a negative multiplier: got %v, want an error naming lm_lr_mult", err)
	}
	bad.LMLRMult, bad.ClassifierBatch = 0, 1
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "classifier_batch") {
		t.Errorf("classifier batch 1: got %v, want an error naming classifier_batch", err)
	}

	// The classifier multiplier scales Table 7's rate of the row's variant,
	// or the row's own rate, and the scale's batch replaces the recipe's.
	for _, tc := range []struct {
		variant string
		lr      float64
		want    float64
	}{{model.ClsFreezDiscrSTLR, 0, 0.03}, {model.ClsFull, 0, 0.003}, {model.ClsScratch, 0, 0.003}, {model.ClsFull, 0.002, 0.006}} {
		s := Paper()
		s.Classifier, s.ClassifierLR = tc.variant, tc.lr
		got, err := Scale{Name: "x", ClassifierLRMult: 3, ClassifierBatch: 32}.Tune(s)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.ClassifierLR-tc.want) > 1e-15 || got.ClassifierBatch != 32 {
			t.Errorf("%s with classifier_lr %g: rate %g batch %d, want %g and 32", tc.variant, tc.lr, got.ClassifierLR, got.ClassifierBatch, tc.want)
		}
	}
}

// A pretrained LM replaces pretraining only where there is pretraining:
// without it, or from scratch, the resolved settings are those of the row
// without a pretrained LM; and unset, it is left out of the settings' JSON,
// so records of rows without it read as before.
func TestPretrainedOnlyWherePretraining(t *testing.T) {
	base, _ := LookupRecipe("paper")
	for _, c := range []struct {
		name    string
		set     func(*Settings)
		cleared bool
	}{
		{"pretraining", func(*Settings) {}, false},
		{"no pretraining", func(s *Settings) { s.Pretrain = false }, true},
		{"scratch", func(s *Settings) { s.Classifier = model.ClsScratch }, true},
	} {
		s := base.Settings()
		c.set(&s)
		with := s
		with.Pretrained = PretrainedLM{Name: "wt103-fwd"}
		got := with.Resolve().Pretrained.IsZero()
		if got != c.cleared {
			t.Errorf("%s: pretrained cleared %v, want %v", c.name, got, c.cleared)
		}
		if c.cleared && with.Resolve() != s.Resolve() {
			t.Errorf("%s: resolved settings differ from the row without a pretrained LM", c.name)
		}
	}
	data, err := json.Marshal(base.Settings())
	if err != nil || strings.Contains(string(data), "pretrained\"") {
		t.Errorf("settings without a pretrained LM encode it: %s (%v)", data, err)
	}
}

// The scale's classifier discriminative factor reaches the classifier of
// the "+ discr" variants only, leaves LM fine-tuning on discr_factor, yields
// to a row's own classifier_discr_factor, and is range-checked.
func TestScaleClassifierDiscrFactor(t *testing.T) {
	sc := Scale{Name: "x", ClassifierDiscrFactor: 1.6}
	sm, _ := LookupScale("small")
	for _, variant := range model.ClassifierVariants() {
		s := Paper()
		s.Classifier = variant
		got, err := sc.Tune(s)
		if err != nil {
			t.Fatal(err)
		}
		ct, ft := got.ClassifierTrainConfig(sm, 1), got.LMFineTuneConfig(sm, 1)
		want := s.DiscrFactor
		if model.UsesDiscr(variant) {
			want = 1.6
		}
		if ct.DiscrFactor != want || ft.DiscrFactor != s.DiscrFactor {
			t.Errorf("%s: classifier factor %g, LM fine-tuning %g; want %g and %g", variant, ct.DiscrFactor, ft.DiscrFactor, want, s.DiscrFactor)
		}
		if !model.UsesDiscr(variant) && got != s {
			t.Errorf("%s: Tune changed a variant without discriminative rates", variant)
		}
	}
	s := Paper()
	s.ClassifierDiscrFactor = 2
	if got, _ := sc.Tune(s); got.ClassifierTrainConfig(sm, 1).DiscrFactor != 2 {
		t.Errorf("a row's classifier_discr_factor 2 gave %g, want the row's to win", got.ClassifierTrainConfig(sm, 1).DiscrFactor)
	}
	s.ClassifierDiscrFactor = 0.5
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "classifier_discr_factor") {
		t.Errorf("classifier_discr_factor 0.5: got %v, want an error naming it", err)
	}
	bad := Scale{Name: "x", Emb: 1, Layers: 1, PretrainVocab: 1, Vocab: 1, PretrainEpochs: 1, LMEpochs: 1, ClassifierEpochs: 1, MaxLen: 1, PretrainCorpus: "c", ClassifierDiscrFactor: 0.9}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "classifier_discr_factor") {
		t.Errorf("scale classifier_discr_factor 0.9: got %v, want an error naming it", err)
	}
}

// The scale's LM discriminative factor reaches LM fine-tuning of the
// "+ discr" variants only (with the paper's rule), leaves the classifier on
// discr_factor, and yields to a row's own lm_discr_factor.
func TestScaleLMDiscrFactor(t *testing.T) {
	sc := Scale{Name: "x", LMDiscrFactor: 1.6}
	sm, _ := LookupScale("small")
	for _, variant := range model.LMFineTuneVariants() {
		s := Paper()
		s.LMFineTune = variant
		got, err := sc.Tune(s)
		if err != nil {
			t.Fatal(err)
		}
		want := s.DiscrFactor
		if model.LMUsesDiscr(variant) {
			want = 1.6
		}
		ft, ct := got.LMFineTuneConfig(sm, 1), got.ClassifierTrainConfig(sm, 1)
		if ft.DiscrFactor != want || ct.DiscrFactor != s.DiscrFactor {
			t.Errorf("%s: LM fine-tuning factor %g, classifier %g; want %g and %g", variant, ft.DiscrFactor, ct.DiscrFactor, want, s.DiscrFactor)
		}
	}
	s := Paper()
	s.LMDiscrFactor = 2
	if got, _ := sc.Tune(s); got.LMFineTuneConfig(sm, 1).DiscrFactor != 2 {
		t.Errorf("a row's lm_discr_factor 2 gave %g, want the row's to win", got.LMFineTuneConfig(sm, 1).DiscrFactor)
	}
	s = Paper()
	s.Classifier = model.ClsScratch
	if got, _ := sc.Tune(s); got != s {
		t.Errorf("Tune changed a row without an LM")
	}
	s.LMDiscrFactor = 0.5
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "lm_discr_factor") {
		t.Errorf("lm_discr_factor 0.5: got %v, want an error naming it", err)
	}
}

// A key whose 0 means "unset" is an error when a file writes 0 for it,
// naming the key and saying to leave it out; left out, or written with a
// value, it passes. (classifier_lr = 0 used to run Table 7's rate while the
// record said 0.)
func TestCheckWritten(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	s := Paper()
	var re *RangeError
	if err := s.CheckWritten(all); !errors.As(err, &re) || re.Key != "classifier_lr" || !strings.Contains(err.Error(), "leave classifier_lr out for Table 7's rate") {
		t.Errorf("classifier_lr = 0 written: got %v", err)
	}
	if err := s.CheckWritten(none); err != nil {
		t.Errorf("nothing written: %v", err)
	}
	s.ClassifierLR = 0.004
	if err := s.CheckWritten(all); !errors.As(err, &re) || re.Key != "lm_discr_factor" {
		t.Errorf("lm_discr_factor = 0 written: got %v", err)
	}
	s.LMDiscrFactor, s.ClassifierDiscrFactor = 2, 2
	for _, key := range []string{"subword_vocab", "max_vocab", "min_freq"} {
		if err := s.CheckWritten(all); !errors.As(err, &re) || re.Key != key || !strings.Contains(err.Error(), "leave "+key+" out") {
			t.Errorf("%s = 0 written: got %v", key, err)
		}
		switch key {
		case "subword_vocab":
			s.SubwordVocab = 500
		case "max_vocab":
			s.MaxVocab = 500
		case "min_freq":
			s.MinFreq = 3
		}
	}
	if err := s.CheckWritten(all); err != nil {
		t.Errorf("every key written with a value: %v", err)
	}
	sc, _ := LookupScale("paper")
	if err := sc.CheckWritten(func(k string) bool { return k == "classifier_batch" }); !errors.As(err, &re) || re.Key != "classifier_batch" {
		t.Errorf("classifier_batch = 0 written: got %v", err)
	}
	if err := sc.CheckWritten(none); err != nil {
		t.Errorf("the paper scale, nothing written: %v", err)
	}
	small, _ := LookupScale("small")
	if err := small.CheckWritten(func(k string) bool { return k != "lm_discr_factor" }); err != nil {
		t.Errorf("the small scale's values written out: %v", err)
	}
	s = Paper()
	s.ClassifierLR = -0.01
	if err := s.Check(); !errors.As(err, &re) || re.Key != "classifier_lr" {
		t.Errorf("a negative classifier_lr: %v", err)
	}
}

// WithDefaults writes in the rate an unset classifier_lr trains with, and
// changes nothing else.
func TestWithDefaults(t *testing.T) {
	for _, variant := range model.ClassifierVariants() {
		s := Paper()
		s.Classifier = variant
		got := s.WithDefaults()
		if got.ClassifierLR != model.ClassifierRate(variant) {
			t.Errorf("%s: classifier_lr %g, want %g", variant, got.ClassifierLR, model.ClassifierRate(variant))
		}
		got.ClassifierLR = s.ClassifierLR
		if got != s {
			t.Errorf("%s: WithDefaults changed more than classifier_lr", variant)
		}
	}
	s := Paper()
	s.ClassifierLR = 0.002
	if s.WithDefaults() != s {
		t.Error("WithDefaults changed a set classifier_lr")
	}
}

// task_lm_epochs and task_classifier_epochs replace the scale's epochs for
// the datasets they name, under either of a dataset's names, and no other.
func TestScaleForTask(t *testing.T) {
	sc, _ := LookupScale("paper")
	sc.TaskLMEpochs = map[string]int{"imdb": 2}
	sc.TaskClassifierEpochs = map[string]int{"ag_news": 12}
	if got := sc.ForTask("imdb", "imdb"); got.LMEpochs != 2 || got.ClassifierEpochs != 50 {
		t.Errorf("imdb: %d LM, %d classifier epochs; want 2 and 50", got.LMEpochs, got.ClassifierEpochs)
	}
	if got := sc.ForTask("ag-news", "ag_news"); got.LMEpochs != 15 || got.ClassifierEpochs != 12 {
		t.Errorf("ag-news: %d LM, %d classifier epochs; want 15 and 12", got.LMEpochs, got.ClassifierEpochs)
	}
	if got := sc.ForTask("trec6", "trec6"); got.LMEpochs != 15 || got.ClassifierEpochs != 50 {
		t.Errorf("trec6: %d, %d; want the scale's 15 and 50", got.LMEpochs, got.ClassifierEpochs)
	}
	sc.TaskLMEpochs["imdb"] = 0
	if err := sc.Check(); err == nil || !strings.Contains(err.Error(), "task_lm_epochs.imdb") {
		t.Errorf("task_lm_epochs.imdb = 0: %v", err)
	}
	if r, _ := LookupRecipe("scripts"); !r.Settings().LMTestText || Paper().LMTestText {
		t.Error("lm_test_text: want the scripts recipe's true and the paper's false")
	}
}

// classifier_patience reaches the classifier's training configuration from
// a row or, for rows without their own, from the scale; negative values
// are refused naming the key; unset, it is left out of the settings' and
// the scale's JSON, so records of runs without it keep their config hashes.
func TestClassifierPatience(t *testing.T) {
	sm, _ := LookupScale("small")
	s := Paper()
	if ct := s.ClassifierTrainConfig(sm, 1); ct.Patience != 0 {
		t.Errorf("the paper's settings stop early with patience %d, want 0 (every epoch)", ct.Patience)
	}
	for _, v := range []any{s, sm} {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "patience") {
			t.Errorf("unset patience is in the JSON of %T: %s", v, raw)
		}
	}
	sc := Scale{Name: "x", ClassifierPatience: 3}
	got, err := sc.Tune(s)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.ClassifierTrainConfig(sm, 1).Patience; p != 3 {
		t.Errorf("the scale's classifier_patience 3 gave %d", p)
	}
	s.ClassifierPatience = 5
	if got, _ := sc.Tune(s); got.ClassifierTrainConfig(sm, 1).Patience != 5 {
		t.Errorf("a row's classifier_patience 5 gave %d, want the row's to win", got.ClassifierTrainConfig(sm, 1).Patience)
	}
	var re *RangeError
	s.ClassifierPatience = -1
	if err := s.Check(); !errors.As(err, &re) || re.Key != "classifier_patience" {
		t.Errorf("classifier_patience -1: %v, want a range error naming it", err)
	}
	sm.ClassifierPatience = -2
	if err := sm.Check(); !errors.As(err, &re) || re.Key != "classifier_patience" {
		t.Errorf("scale classifier_patience -2: %v, want a range error naming it", err)
	}
}

// lm_patience reaches the fine-tuning rows only: a scale's applies to the
// rows that fine-tune an LM and have none of their own; Resolve drops one
// that [defaults] gave a row without LM fine-tuning; a row that writes it
// without LM fine-tuning, or a negative one, is refused naming the key.
func TestLMPatience(t *testing.T) {
	sc := Scale{Name: "x", LMPatience: 2}
	for _, c := range []struct {
		classifier, lmFineTune string
		want                   int
	}{{model.ClsFreezDiscrSTLR, model.LMFullDiscrSTLR, 2}, {model.ClsFreezDiscrSTLR, model.LMNone, 0}, {model.ClsScratch, model.LMFullDiscrSTLR, 0}} {
		s := Paper()
		s.Classifier, s.LMFineTune = c.classifier, c.lmFineTune
		got, err := sc.Tune(s.Resolve())
		if err != nil {
			t.Fatal(err)
		}
		if got.LMPatience != c.want {
			t.Errorf("classifier %s, lm_finetune %s: the scale's lm_patience 2 gave %d, want %d", c.classifier, c.lmFineTune, got.LMPatience, c.want)
		}
		s.LMPatience = 4
		if r := s.Resolve(); r.LMPatience != min(c.want, 1)*4 {
			t.Errorf("classifier %s, lm_finetune %s: resolved lm_patience %d", c.classifier, c.lmFineTune, r.LMPatience)
		}
		err = s.CheckWritten(func(key string) bool { return key == "lm_patience" })
		if fine := c.want > 0; fine != (err == nil) || !fine && !strings.Contains(err.Error(), "fine-tunes no LM") {
			t.Errorf("classifier %s, lm_finetune %s: lm_patience written: %v", c.classifier, c.lmFineTune, err)
		}
		if err := s.CheckWritten(func(string) bool { return false }); err != nil {
			t.Errorf("classifier %s, lm_finetune %s: lm_patience from [defaults]: %v, want no error (Resolve drops it)", c.classifier, c.lmFineTune, err)
		}
	}
	var re *RangeError
	s := Paper()
	s.LMPatience = -1
	if err := s.Check(); !errors.As(err, &re) || re.Key != "lm_patience" {
		t.Errorf("lm_patience -1: %v", err)
	}
	sm, _ := LookupScale("small")
	sm.LMPatience = -1
	if err := sm.Check(); !errors.As(err, &re) || re.Key != "lm_patience" {
		t.Errorf("scale lm_patience -1: %v", err)
	}
}

// The tokeniser's keys: each belongs to one tokeniser, sizes have a
// floor, and subwords cannot start from a fastai LM's word vocabulary.
func TestCheckTokenizer(t *testing.T) {
	small, _ := LookupScale("small")
	tests := []struct {
		name string
		set  func(*Settings)
		key  string // the key the error names; "" for none
	}{
		{"words by default", func(s *Settings) {}, ""},
		{"subword", func(s *Settings) { s.Tokenizer = TokenizerSubword; s.SubwordVocab = 800 }, ""},
		{"words with its caps", func(s *Settings) { s.Tokenizer = TokenizerWords; s.MaxVocab = 800; s.MinFreq = 1 }, ""},
		{"unknown", func(s *Settings) { s.Tokenizer = "sentencepiece" }, "tokenizer"},
		{"subword_vocab with words", func(s *Settings) { s.SubwordVocab = 800 }, "subword_vocab"},
		{"max_vocab with subword", func(s *Settings) { s.Tokenizer = TokenizerSubword; s.MaxVocab = 800 }, "max_vocab"},
		{"subword_vocab below the special tokens", func(s *Settings) { s.Tokenizer = TokenizerSubword; s.SubwordVocab = 9 }, "subword_vocab"},
		{"max_vocab below the special tokens", func(s *Settings) { s.MaxVocab = 5 }, "max_vocab"},
		{"negative min_freq", func(s *Settings) { s.MinFreq = -1 }, "min_freq"},
		{"subword from a fastai LM", func(s *Settings) { s.Tokenizer = TokenizerSubword; s.Pretrained = PretrainedLM{Name: "wt103-fwd"} }, "tokenizer"},
	}
	for _, tt := range tests {
		s := Paper()
		tt.set(&s)
		err := s.Check()
		var re *RangeError
		var ce *ChoiceError
		got := ""
		switch {
		case errors.As(err, &re):
			got = re.Key
		case errors.As(err, &ce):
			got = ce.Key
		}
		if got != tt.key || (tt.key == "") != (err == nil) {
			t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.key)
		}
	}
	s := Paper()
	s.Tokenizer = TokenizerWords
	if r := s.Resolve(); r.Tokenizer != "" {
		t.Errorf("tokenizer \"words\" resolves to %q, want it unset (as records had it before the key)", r.Tokenizer)
	}
	s.Tokenizer = TokenizerSubword
	if got := s.SubwordPieces(small); got != small.Vocab {
		t.Errorf("the small scale's default subword vocabulary: %d, want its vocab %d", got, small.Vocab)
	}
	paper, _ := LookupScale("paper")
	if got := s.SubwordPieces(paper); got != MultiFiTSubwordVocab {
		t.Errorf("the paper scale's default subword vocabulary: %d, want MultiFiT's %d", got, MultiFiTSubwordVocab)
	}
	if p, v := (Settings{MaxVocab: 700}).VocabCaps(small); p != 700 || v != 700 {
		t.Errorf("max_vocab 700: caps %d and %d", p, v)
	}
}

// The names pretrained takes besides the registry's: "ours" and zoo
// models; a zoo model reads its own entry in each direction.
func TestPretrainedZooAndOurs(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"wt103-fwd", true}, {"ours", true}, {"zoo:small-wikipedia-en", true}, {"zoo:small-wikipedia-en-bwd", true},
		{"zoo:", false}, {"zoo:a/b", false}, {"wt103", false}, {"Ours", false},
	} {
		_, err := PretrainedByName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("PretrainedByName(%q): %v, want ok %v", c.name, err, c.ok)
		}
	}
	p := PretrainedLM{Name: "zoo:small-wikipedia-en"}
	if m, ok := p.ZooModel(); !ok || m != "small-wikipedia-en" {
		t.Errorf("ZooModel = %q, %v", m, ok)
	}
	for _, backward := range []bool{false, true} {
		if got, ok := p.ForDirection(backward); !ok || got != p {
			t.Errorf("ForDirection(%v) = %v, %v; want the zoo model itself (the planner picks the entry)", backward, got, ok)
		}
	}
	sub, _ := LookupRecipe("paper")
	s := sub.Settings()
	s.Tokenizer, s.Pretrained = TokenizerSubword, p
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "tokenizer") {
		t.Errorf("subwords from a zoo model: %v, want a tokenizer error", err)
	}
	s.Pretrained = PretrainedLM{Name: PretrainedOurs}
	if err := s.Check(); err != nil {
		t.Errorf("subwords pretraining their own (pretrained = \"ours\"): %v", err)
	}
}

// The small scale's rows start from the zoo's small-wikipedia-en; the
// paper's and the tests' pretrain their own.
func TestScaleZooModels(t *testing.T) {
	for name, want := range map[string]string{"small": "small-wikipedia-en", "paper": "", "tiny": ""} {
		sc, _ := LookupScale(name)
		if got := sc.DefaultZooModel(); got != want {
			t.Errorf("scale %s starts from %q, want %q", name, got, want)
		}
	}
}

// StartFrom gives a scale's rows its zoo model where they would pretrain
// the same kind of LM, and their own pretraining where they ask for it
// ("ours"), vary the LM itself, or the experiment changes the scale's
// pretraining.
func TestStartFrom(t *testing.T) {
	scaleZooModels["tiny"] = "tiny-test"
	t.Cleanup(func() { delete(scaleZooModels, "tiny") })
	tiny, _ := LookupScale("tiny")
	paper, _ := LookupScale("paper")
	base := Paper()
	zooLM := PretrainedLM{Name: "zoo:tiny-test"}
	for _, c := range []struct {
		name  string
		sc    Scale
		set   func(*Settings, *Scale)
		want  PretrainedLM
		why   string // in the note
		noted bool
	}{
		{"a pretraining row", tiny, func(*Settings, *Scale) {}, zooLM, "", false},
		{"no scale model", paper, func(*Settings, *Scale) {}, PretrainedLM{}, "", false},
		{"ours", tiny, func(s *Settings, _ *Scale) { s.Pretrained = PretrainedLM{Name: PretrainedOurs} }, PretrainedLM{}, "", false},
		{"ours, no scale model", paper, func(s *Settings, _ *Scale) { s.Pretrained = PretrainedLM{Name: PretrainedOurs} }, PretrainedLM{}, "", false},
		{"its own pretrained LM", tiny, func(s *Settings, _ *Scale) { s.Pretrained = PretrainedLM{Name: "wt103-fwd"} }, PretrainedLM{Name: "wt103-fwd"}, "", false},
		{"no pretraining", tiny, func(s *Settings, _ *Scale) { s.Pretrain = false }, PretrainedLM{}, "", false},
		{"from scratch", tiny, func(s *Settings, _ *Scale) { s.Classifier = model.ClsScratch }, PretrainedLM{}, "", false},
		{"vanilla LM", tiny, func(s *Settings, _ *Scale) { s.LM = "vanilla" }, PretrainedLM{}, `lm = "vanilla"`, true},
		{"subwords", tiny, func(s *Settings, _ *Scale) { s.Tokenizer = TokenizerSubword }, PretrainedLM{}, `tokenizer = "subword"`, true},
		{"max_vocab", tiny, func(s *Settings, _ *Scale) { s.MaxVocab = 500 }, PretrainedLM{}, "max_vocab", true},
		{"min_freq", tiny, func(s *Settings, _ *Scale) { s.MinFreq = 3 }, PretrainedLM{}, "min_freq", true},
		{"the experiment's corpus", tiny, func(_ *Settings, sc *Scale) { sc.PretrainCorpus = "wikipedia-en" }, PretrainedLM{},
			`[scale.tiny] pretrain_corpus = wikipedia-en (the preset's is pretrain-en)`, true},
		{"the experiment's epochs", tiny, func(_ *Settings, sc *Scale) { sc.PretrainEpochs = 3 }, PretrainedLM{}, "pretrain_epochs = 3", true},
		{"the experiment's shape", tiny, func(_ *Settings, sc *Scale) { sc.Hidden = 32 }, PretrainedLM{}, "hidden = 32", true},
		{"the experiment's classifier epochs", tiny, func(_ *Settings, sc *Scale) { sc.ClassifierEpochs = 9 }, zooLM, "", false},
		{"other rates", tiny, func(s *Settings, _ *Scale) { s.PretrainLR = 0.1; s.LMDropouts.Output = 0.3 }, zooLM, "", false},
	} {
		s, sc := base, c.sc.Clone()
		c.set(&s, &sc)
		in := s.Resolve()
		got, note := sc.StartFrom(in)
		if got.Pretrained != c.want {
			t.Errorf("%s: pretrained %v, want %v", c.name, got.Pretrained, c.want)
		}
		if (note != "") != c.noted || !strings.Contains(note, c.why) {
			t.Errorf("%s: note %q, want one with %q: %v", c.name, note, c.why, c.noted)
		}
		if c.noted && !strings.Contains(note, "pretrains its own LM on "+sc.PretrainCorpus+", not the scale's zoo model tiny-test") {
			t.Errorf("%s: note %q", c.name, note)
		}
		got.Pretrained = in.Pretrained
		if got != in {
			t.Errorf("%s: StartFrom changed more than pretrained", c.name)
		}
	}
}

// The precision is an axis: "fp32" written resolves to unset (so rows
// that write it keep the keys and records of rows that do not), "tf32"
// and "bf16" stay, and any other value names the valid ones.
func TestPrecision(t *testing.T) {
	s := Paper()
	s.Precision = PrecisionFP32
	if r := s.Resolve(); r.Precision != "" || r.BF16() {
		t.Errorf("precision \"fp32\" resolves to %q, want it unset", r.Precision)
	}
	for _, p := range []string{PrecisionTF32, PrecisionBF16} {
		s.Precision = p
		if r := s.Resolve(); r.Precision != p || r.BF16() != (p == PrecisionBF16) {
			t.Errorf("precision %q resolves to %q (bf16 %v)", p, r.Precision, r.BF16())
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if v, ok := RowVariant(s, p); !ok || v.Name != p {
			t.Errorf("a row with id %s and precision %q: variant %+v, %v", p, p, v, ok)
		}
	}
	s.Precision = "fp16"
	var ce *ChoiceError
	if err := s.Check(); !errors.As(err, &ce) || ce.Key != "precision" || !slices.Equal(ce.Choices, []string{PrecisionFP32, PrecisionTF32, PrecisionBF16}) {
		t.Errorf("precision \"fp16\": %v, want a ChoiceError naming precision, fp32, tf32 and bf16", err)
	}
	for _, id := range []string{"tf32", "bf16"} {
		if v, ok := RowVariant(Paper(), id); ok {
			t.Errorf("a row with id %s and no precision takes the variant %+v", id, v)
		}
	}
	if v, ok := RowVariant(Paper(), "fp32"); !ok || v.Name != PrecisionFP32 || v.Label != "float32 products" {
		t.Errorf("a row with id fp32 and no precision: variant %+v, %v; want the precision axis's fp32", v, ok)
	}
}

// classifier_warmup_spans_thaw lengthens STLR's warm-up of the variants
// that thaw gradually to groups/epochs of the training (the small scale's
// 5 groups over 20 epochs: 0.25), keeps a row's larger cut_frac, leaves
// every other variant and the paper scale's 50 epochs (where 0.1 already
// spans the thaw) as they are, and counts the groups the classifier has.
func TestClassifierWarmupSpansThaw(t *testing.T) {
	sm, _ := LookupScale("small")
	paper, _ := LookupScale("paper")
	if !sm.ClassifierWarmupSpansThaw || paper.ClassifierWarmupSpansThaw {
		t.Fatalf("classifier_warmup_spans_thaw: small %v, paper %v; want true and false", sm.ClassifierWarmupSpansThaw, paper.ClassifierWarmupSpansThaw)
	}
	for _, variant := range model.ClassifierVariants() {
		s := Paper()
		s.Classifier = variant
		want := s.ClassifierCutFrac
		if model.ThawsWithSTLR(variant) {
			want = 0.25
		}
		if got := s.ClassifierTrainConfig(sm, 1).CutFrac; got != want {
			t.Errorf("small, %s: cut_frac %g, want %g", variant, got, want)
		}
		withThaw := paper
		withThaw.ClassifierWarmupSpansThaw = true
		if got := s.ClassifierTrainConfig(withThaw, 1).CutFrac; got != s.ClassifierCutFrac {
			t.Errorf("paper's 50 epochs with the key, %s: cut_frac %g, want the recipe's %g", variant, got, s.ClassifierCutFrac)
		}
	}
	s := Paper()
	s.ClassifierCutFrac = 0.4
	if got := s.ClassifierTrainConfig(sm, 1).CutFrac; got != 0.4 {
		t.Errorf("a row's cut_frac 0.4 became %g, want it kept", got)
	}
	sm.TaskClassifierEpochs = map[string]int{"trec6": 10}
	if got := Paper().ClassifierTrainConfig(sm.ForTask("trec6"), 1).CutFrac; got != 0.5 {
		t.Errorf("10 epochs for one task: cut_frac %g, want 5/10", got)
	}
	clf, err := model.NewClassifier(compute.Default(), Paper().ClassifierConfig(sm, 50), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(clf.Params.Groups()); n != sm.Layers+2 {
		t.Errorf("the classifier has %d layer groups; ClassifierTrainConfig counts %d", n, sm.Layers+2)
	}
}
