package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// source is a loaded dataset and its identity.
type source struct {
	Name   string // as the experiment names it ("ag-news")
	Record string // as records name it ("ag_news"): the registry's folder
	DS     *datasets.Dataset
	Hashes map[string]string // file (relative to the dataset's folder) -> SHA-256
	// Reading is how a dataset the experiment declares is read (its
	// [datasets.NAME] table without the name and folder): the same files
	// read with another label column, class order, split assignment or
	// encoding are other data. Nil for a registered dataset, whose
	// loader's code is the stage's code version.
	Reading *datasets.GenericSpec
}

func newSource(name string, ds *datasets.Dataset) *source {
	s := &source{Name: name, Record: name, DS: ds, Hashes: map[string]string{}}
	if info, err := datasets.Lookup(name); err == nil {
		s.Record = info.Folder
	}
	for _, f := range ds.Source.Files {
		s.Hashes[ds.RelPath(f)] = f.SHA256
	}
	return s
}

// limit is a scale's cap for this dataset: by the experiment's name for
// it, its folder name, else "default".
func (s *source) limit(m map[string]int) int {
	if n, ok := m[s.Name]; ok {
		return n
	}
	if n, ok := m[s.Record]; ok {
		return n
	}
	return m["default"]
}

// Salts make the draws from one split seed independent of each other.
const (
	saltValidation = iota
	saltCarve
	saltSubset
	saltTest
	saltLowShot
	saltUnlabelled
	saltCorpus
	saltSpareValid
)

// taskSplits are a task's examples as one cell uses them.
type taskSplits struct {
	Train  []datasets.Example // what the classifier trains on
	Valid  []datasets.Example // validation: selects the epoch, measures Tables 4-7
	Test   []datasets.Example
	LMText []datasets.Example // what the LM is fine-tuned on
	// TrainPool is the number of labelled training examples left after
	// the validation split (Figure 3's whole set).
	TrainPool int
	// SpareValid is how many validation examples came from outside the
	// max_train subset (the scale's spare_valid); 0 when none did.
	SpareValid int
	Notes      []string
}

// splitTask cuts a dataset into a cell's splits, deterministically from
// the settings' split seed:
//
//  1. A dataset with only a test split here (AG: the 7,600 official test
//     examples) is carved: a stratified carve_test_fraction is its test set,
//     the rest its training set.
//  2. The scale's max_train caps the training set (a stratified draw).
//  3. Validation is the dataset's own split when it has one, else the
//     scale's spare_valid examples drawn from what max_train left out,
//     else a stratified validation_fraction of the training set.
//  4. max_test caps the test set.
//  5. trainSize > 0 draws that many labelled examples from what is left
//     (Figure 3); the rest of the text still serves the LM when lm_text is
//     "task".
//  6. The LM's text is the classifier's examples (lm_text "labelled"), or
//     every training example and up to max_unlabelled unlabelled ones:
//     the dataset's own, and the text of the training examples max_train
//     left out (the paper fine-tuned its LMs on all of a task's text);
//     with lm_test_text also the validation and test examples' text,
//     labels unused (the authors' scripts).
func splitTask(src *source, s ablations.Settings, sc ablations.Scale, trainSize int) (taskSplits, error) {
	ds := src.DS
	var out taskSplits
	label := datasets.Label(src.Record)
	train, test := ds.Train, ds.Test
	if len(train) == 0 {
		if len(test) == 0 {
			return out, fmt.Errorf("dataset %s has no labelled examples", src.Name)
		}
		rest, carved, err := datasets.SplitValidation(test, s.CarveTestFraction, s.SplitSeed+saltCarve)
		if err != nil {
			return out, err
		}
		out.Notes = append(out.Notes, fmt.Sprintf(
			"%s: only its %s-example test split is here; train and test were carved from it (stratified %g%% test, seed %d): %s train, %s test",
			label, count(len(test)), 100*s.CarveTestFraction, s.SplitSeed+saltCarve, count(len(rest)), count(len(carved))))
		train, test = rest, carved
	}
	var spare []datasets.Example      // training examples max_train leaves out, as unlabelled text
	var spareValid []datasets.Example // validation drawn from them (spare_valid)
	if n := src.limit(sc.MaxTrain); n > 0 && n < len(train) {
		rest, sub, err := datasets.SplitValidation(train, float64(n)/float64(len(train)), s.SplitSeed+saltSubset)
		if err != nil {
			return out, err
		}
		out.Notes = append(out.Notes, fmt.Sprintf("%s: %s of %s training examples (scale %s; stratified, seed %d); the others' text may serve the LM as unlabelled text",
			label, count(n), count(len(train)), sc.Name, s.SplitSeed+saltSubset))
		train = sub
		if nv := src.limit(sc.SpareValid); nv > 0 && len(ds.Valid) == 0 {
			if nv >= len(rest) {
				return out, fmt.Errorf("dataset %s: spare_valid %d, but max_train leaves only %d examples out", src.Name, nv, len(rest))
			}
			left, held, err := datasets.SplitValidation(rest, float64(nv)/float64(len(rest)), s.SplitSeed+saltSpareValid)
			if err != nil {
				return out, err
			}
			out.Notes = append(out.Notes, fmt.Sprintf("%s: validation is %s of the training examples outside the subset (scale %s; stratified, seed %d); all %s of the subset train",
				label, count(len(held)), sc.Name, s.SplitSeed+saltSpareValid, count(len(train))))
			rest, spareValid = left, held
		}
		for _, e := range rest {
			spare = append(spare, datasets.Example{Text: e.Text, Label: datasets.NoLabel})
		}
	}
	pool, valid := train, ds.Valid
	if len(valid) == 0 && spareValid != nil {
		valid, out.SpareValid = spareValid, len(spareValid)
	} else if len(valid) == 0 {
		var err error
		pool, valid, err = datasets.SplitValidation(train, s.ValidationFraction, s.SplitSeed+saltValidation)
		if err != nil {
			return out, err
		}
	} else {
		out.Notes = append(out.Notes, fmt.Sprintf("%s: validation is the dataset's own split (%s examples)", label, count(len(valid))))
	}
	if n := src.limit(sc.MaxTest); n > 0 && n < len(test) {
		sub, err := stratified(test, n, s.SplitSeed+saltTest)
		if err != nil {
			return out, err
		}
		out.Notes = append(out.Notes, fmt.Sprintf("%s: %s of %s test examples (scale %s; stratified, seed %d)",
			label, count(n), count(len(test)), sc.Name, s.SplitSeed+saltTest))
		test = sub
	}
	out.Valid, out.Test, out.TrainPool = valid, test, len(pool)
	out.Train = pool
	if trainSize > 0 && trainSize < len(pool) {
		sub, err := stratified(pool, trainSize, s.SplitSeed+saltLowShot)
		if err != nil {
			return out, err
		}
		out.Train = sub
	}
	if s.LMText == "labelled" {
		out.LMText = out.Train
	} else {
		out.LMText = slices.Clone(pool)
		unl := append(slices.Clone(ds.Unlabelled), spare...)
		if n := src.limit(sc.MaxUnlabelled); n > 0 && n < len(unl) {
			sub, err := stratified(unl, n, s.SplitSeed+saltUnlabelled)
			if err != nil {
				return out, err
			}
			unl = sub
		}
		out.LMText = append(out.LMText, unl...)
		if s.LMTestText {
			for _, held := range [][]datasets.Example{valid, test} {
				for _, e := range held {
					out.LMText = append(out.LMText, datasets.Example{Text: e.Text, Label: datasets.NoLabel})
				}
			}
			out.Notes = append(out.Notes, fmt.Sprintf("%s: the LM is also fine-tuned on the text (not the labels) of the %s validation and %s test examples (lm_test_text)",
				label, count(len(valid)), count(len(test))))
		}
	}
	if len(out.Train) < 2 || len(out.Valid) == 0 {
		return out, fmt.Errorf("dataset %s: %d training and %d validation examples after splitting; a classifier needs at least 2 and 1",
			src.Name, len(out.Train), len(out.Valid))
	}
	return out, nil
}

// checkClasses stops a task whose data cannot train or measure a
// classifier: fewer than two classes, or a labelled split (train, valid,
// test) with examples of fewer than two, which would train to chance or
// measure nothing while looking like a result.
func checkClasses(e *experiments.Experiment, src *source) error {
	ds := src.DS
	if len(ds.Classes) < 2 {
		return fmt.Errorf("%s has %d class%s (%s); a classifier needs at least 2", splitFiles(e, src, ""), len(ds.Classes),
			english.Plural(len(ds.Classes), "", "es"), strings.Join(ds.Classes, ", "))
	}
	for _, sp := range []datasets.NamedSplit{{Name: "train", Examples: ds.Train}, {Name: "valid", Examples: ds.Valid}, {Name: "test", Examples: ds.Test}} {
		if len(sp.Examples) == 0 {
			continue
		}
		if err := checkSplitClasses(src, "split "+sp.Name+" ("+splitFiles(e, src, sp.Name)+")", sp.Examples); err != nil {
			return err
		}
	}
	return nil
}

// checkSplitClasses reports examples (of the split what names) with fewer
// than two classes: what was found, and what was expected.
func checkSplitClasses(src *source, what string, examples []datasets.Example) error {
	classes := src.DS.Classes
	counts := datasets.ClassCounts(examples, len(classes))
	var found []string
	for c, n := range counts {
		if n > 0 {
			found = append(found, fmt.Sprintf("%s: %s", classes[c], count(n)))
		}
	}
	if len(found) >= 2 {
		return nil
	}
	if len(found) == 0 {
		found = []string{"none labelled"}
	}
	return fmt.Errorf("%s has examples of %d class%s (%s); want at least 2 of its %d classes (%s)",
		what, len(found), english.Plural(len(found), "", "es"), strings.Join(found, ", "), len(classes), strings.Join(classes, ", "))
}

// splitFiles names where a split of src was read: the file a declared
// dataset names for it, else the dataset's folder.
func splitFiles(e *experiments.Experiment, src *source, split string) string {
	if spec, ok := e.Datasets[src.Name]; ok {
		file := map[string]string{"train": spec.Train, "valid": spec.Valid, "test": spec.Test}[split]
		if file == "" {
			return "dataset " + src.Name
		}
		if !filepath.IsAbs(file) && spec.Dir != "" {
			file = filepath.Join(spec.Dir, file)
		}
		return file
	}
	if src.DS.Source.Dir != "" {
		return src.DS.Source.Dir
	}
	return "dataset " + src.Name
}

// stratified draws n of examples, stratified by label and seeded
// (SplitValidation's rule), in their original order.
func stratified(examples []datasets.Example, n int, seed uint64) ([]datasets.Example, error) {
	if n >= len(examples) {
		return examples, nil
	}
	_, held, err := datasets.SplitValidation(examples, float64(n)/float64(len(examples)), seed)
	return held, err
}

func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// words estimates the tokens of examples: whitespace-separated words, and
// a quarter more for punctuation and fastai's markers.
func words(examples []datasets.Example) int64 {
	var n int64
	for _, e := range examples {
		for _, f := range e.Text {
			n += int64(len(strings.Fields(f)))
		}
		n += 2
	}
	return n * 5 / 4
}

// docs streams examples' fields to the tokeniser.
func docs(examples []datasets.Example) text.Docs {
	return func(yield func([]string, error) bool) {
		for _, e := range examples {
			if !yield(e.Text, nil) {
				return
			}
		}
	}
}

// taskDataKey is a taskdata stage's key: everything its output depends on.
type taskDataKey struct {
	Dataset            string                `json:"dataset"`
	Hashes             map[string]string     `json:"data_hashes"`
	Reading            *datasets.GenericSpec `json:"reading,omitempty"` // a declared dataset's (omitted otherwise, so older keys stand)
	ValidationFraction float64               `json:"validation_fraction"`
	CarveTestFraction  float64               `json:"carve_test_fraction"`
	SplitSeed          uint64                `json:"split_seed"`
	MaxTrain           int                   `json:"max_train"`
	MaxTest            int                   `json:"max_test"`
	MaxUnlabelled      int                   `json:"max_unlabelled"`
	SpareValid         int                   `json:"spare_valid,omitempty"`
	TrainSize          int                   `json:"train_size"`
	LMText             string                `json:"lm_text"`
	Vocab              int                   `json:"vocab"`
	// SpareAsUnlabelled: the training examples max_train leaves out are
	// unlabelled LM text (omitted when false, so older keys stand).
	SpareAsUnlabelled bool `json:"spare_as_unlabelled,omitempty"`
	// LMTestText: the validation and test examples' text is LM text too
	// (omitted when false, so older keys stand).
	LMTestText bool `json:"lm_test_text,omitempty"`
	tokenizing
}

// tokenizing is the part of a data stage's key that says how it tokenises
// and builds its vocabulary: omitted for fastai's words with a minimum
// count of 2, so that the keys made before these settings stand.
type tokenizing struct {
	Tokenizer    string `json:"tokenizer,omitempty"`     // "subword", or "" for words
	SubwordVocab int    `json:"subword_vocab,omitempty"` // the pieces to learn
	MinFreq      int    `json:"min_freq,omitempty"`
}

// vocabSpec is how a data stage tokenises and which vocabulary it builds.
type vocabSpec struct {
	MaxSize int // words: the vocabulary's cap
	MinFreq int // 0: 2
	Pieces  int // subword: the pieces to learn (subword_vocab); 0 for words
	// PiecesUnset: subword_vocab was left out (for messages only).
	PiecesUnset bool
}

// vocabSpecOf is the spec of a data stage whose word vocabulary is capped
// at maxSize.
func vocabSpecOf(s ablations.Settings, sc ablations.Scale, maxSize int) vocabSpec {
	return vocabSpec{MaxSize: maxSize, MinFreq: s.MinFreq, Pieces: s.SubwordPieces(sc), PiecesUnset: s.SubwordVocab == 0}
}

func (v vocabSpec) key() tokenizing {
	if v.Pieces > 0 {
		return tokenizing{Tokenizer: ablations.TokenizerSubword, SubwordVocab: v.Pieces, MinFreq: v.MinFreq}
	}
	return tokenizing{MinFreq: v.MinFreq}
}

func (v vocabSpec) options() text.VocabOptions {
	o := text.VocabOptions{MaxSize: v.MaxSize, MinFreq: int64(v.MinFreq)}
	if v.Pieces > 0 {
		o.MaxSize = v.Pieces
	}
	return o
}

// fileSubword is a data stage's subword model (text.Subword.Save), with
// tokenizer "subword".
const fileSubword = "subword.bpe"

// learnSubword learns a subword model of spec.Pieces pieces from the words
// of examples and saves it in dir. what names the text in errors; a size
// the text cannot give is an error naming subword_vocab.
func learnSubword(ctx context.Context, examples []datasets.Example, spec vocabSpec, what, dir string) (*text.Subword, error) {
	counts, err := text.CountTokens(ctx, text.NewTokenizer(text.Options{}), docs(examples))
	if err != nil {
		return nil, err
	}
	bpe, err := text.TrainSubword(counts, text.SubwordOptions{VocabSize: spec.Pieces, Exact: true})
	var se *text.SubwordSizeError
	if errors.As(err, &se) {
		want := fmt.Sprintf("at least %d", se.Min)
		if se.Size >= se.Min {
			want = fmt.Sprintf("at most %d", se.Max)
		}
		setting := fmt.Sprintf("subword_vocab = %d", spec.Pieces)
		if spec.PiecesUnset {
			setting = fmt.Sprintf("subword_vocab, unset (MultiFiT's %d pieces, at most the scale's vocab: %d)", ablations.MultiFiTSubwordVocab, spec.Pieces)
		}
		return nil, fmt.Errorf("%s: %s: %w; set subword_vocab to %s", setting, what, err, want)
	}
	if err != nil {
		return nil, err
	}
	return bpe, bpe.Save(filepath.Join(dir, fileSubword))
}

// taskData plans a task's data stage: its splits (computed here, so that
// later stages can be sized) and their tokens.
func (b *builder) taskData(src *source, s ablations.Settings, trainSize int) (*Stage, taskSplits, error) {
	sc := b.sc
	sp, err := splitTask(src, s, sc, trainSize)
	if err != nil {
		return nil, sp, err
	}
	if trainSize >= sp.TrainPool {
		trainSize = 0 // the whole pool: the same data as an experiment that does not vary sizes
	}
	_, vocab := s.VocabCaps(sc)
	spec := vocabSpecOf(s, sc, vocab)
	key := taskDataKey{Dataset: src.Name, Hashes: src.Hashes, Reading: src.Reading, ValidationFraction: s.ValidationFraction,
		CarveTestFraction: s.CarveTestFraction, SplitSeed: s.SplitSeed, MaxTrain: src.limit(sc.MaxTrain),
		MaxTest: src.limit(sc.MaxTest), MaxUnlabelled: src.limit(sc.MaxUnlabelled), SpareValid: sp.SpareValid, TrainSize: trainSize,
		LMText: s.LMText, Vocab: vocab, SpareAsUnlabelled: src.limit(sc.MaxTrain) > 0 && s.LMText != "labelled",
		LMTestText: s.LMTestText && s.LMText != "labelled", tokenizing: spec.key()}
	// Subwords of a row that pretrains are the pretraining corpus's: its
	// model and vocabulary, as MultiFiT shares one SentencePiece vocabulary
	// between pretraining and fine-tuning. Without pretraining the task's
	// own text teaches them.
	var inputs []*Stage
	if spec.Pieces > 0 && s.UsesLM() && s.Pretrain {
		corpus, err := b.corpus(s)
		if err != nil {
			return nil, sp, err
		}
		inputs = append(inputs, corpus)
	}
	label := "taskdata " + src.Name
	if trainSize > 0 {
		label += fmt.Sprintf(" n=%d", trainSize)
	}
	if s.LMText == "labelled" {
		label += " lm:labelled"
	}
	if spec.Pieces > 0 {
		label += " subword"
	}
	tokens := words(sp.LMText) + words(sp.Train) + words(sp.Valid) + words(sp.Test)
	return &Stage{Kind: KindTaskData, Code: CodeVersion(KindTaskData), Label: label, Key: key, Inputs: inputs, Work: Work{Tokens: tokens},
		Run: func(ctx context.Context, x *Exec) (any, error) { return runTaskData(ctx, x, src, sp, spec) }}, sp, nil
}

// Files of a taskdata stage.
const (
	fileVocab  = "vocab.txt"
	fileLM     = "lm.corp"
	fileTrain  = "train.corp"
	fileValid  = "valid.corp"
	fileTest   = "test.corp"
	fileLabels = "labels.json"
)

// taskDataResult is a taskdata stage's result.
type taskDataResult struct {
	Dataset   string            `json:"dataset"`
	Classes   []string          `json:"classes"`
	Train     int               `json:"train"`
	Valid     int               `json:"valid"`
	Test      int               `json:"test"`
	TrainPool int               `json:"train_pool"`
	LMDocs    int               `json:"lm_docs"`
	LMTokens  int64             `json:"lm_tokens"`
	Vocab     int               `json:"vocab"`
	VocabHash string            `json:"vocab_hash"`
	Unknown   int64             `json:"unknown_tokens"`
	Notes     []string          `json:"notes,omitempty"`
	Hashes    map[string]string `json:"data_hashes"`
	// SubwordMerges is the number of merges of the subword model the
	// stage tokenised with (tokenizer "subword"; in fileSubword).
	SubwordMerges int `json:"subword_merges,omitempty"`
}

type labelsFile struct {
	Train []int `json:"train"`
	Valid []int `json:"valid"`
	Test  []int `json:"test"`
}

func labelsOf(examples []datasets.Example) []int {
	out := make([]int, len(examples))
	for i, e := range examples {
		out[i] = e.Label
	}
	return out
}

// runTaskData tokenises a cell's splits: the vocabulary comes from the LM
// text (the paper's: the task's own words, at most the scale's vocab, seen
// twice), and every split is numericalised with it. With subwords it is
// the pretraining corpus's, when the stage has that corpus as its input,
// else the pieces learned from the LM text.
func runTaskData(ctx context.Context, x *Exec, src *source, sp taskSplits, spec vocabSpec) (any, error) {
	tok := text.NewTokenizer(text.Options{})
	var vocab *text.Vocab
	var st text.Stats
	var err error
	merges := 0
	switch {
	case spec.Pieces > 0 && len(x.Inputs) > 0:
		corpus := x.Input(0).Dir
		bpe, err := text.LoadSubword(filepath.Join(corpus, fileSubword))
		if err != nil {
			return nil, err
		}
		if vocab, err = text.LoadVocab(filepath.Join(corpus, fileVocab)); err != nil {
			return nil, err
		}
		if err := bpe.Save(filepath.Join(x.Dir, fileSubword)); err != nil {
			return nil, err
		}
		tok = text.NewTokenizer(text.Options{Subword: bpe})
		merges = bpe.NumMerges()
		x.Report(Update{Phase: "tokenising LM text"})
		st, err = text.NumericalizeContext(ctx, tok, vocab, docs(sp.LMText), filepath.Join(x.Dir, fileLM))
		if err != nil {
			return nil, err
		}
	case spec.Pieces > 0:
		x.Report(Update{Phase: "learning subwords"})
		bpe, err := learnSubword(ctx, sp.LMText, spec, "the LM text of "+src.Name, x.Dir)
		if err != nil {
			return nil, err
		}
		tok, merges = text.NewTokenizer(text.Options{Subword: bpe}), bpe.NumMerges()
		fallthrough
	default:
		x.Report(Update{Phase: "tokenising LM text"})
		vocab, st, err = text.BuildCorpus(ctx, tok, docs(sp.LMText), filepath.Join(x.Dir, fileLM), spec.options())
		if err != nil {
			return nil, err
		}
	}
	x.AddTokens(st.Tokens)
	if err := vocab.Save(filepath.Join(x.Dir, fileVocab)); err != nil {
		return nil, err
	}
	res := taskDataResult{Dataset: src.Record, Classes: src.DS.Classes, Train: len(sp.Train), Valid: len(sp.Valid),
		Test: len(sp.Test), TrainPool: sp.TrainPool, LMDocs: int(st.Docs), LMTokens: st.Tokens, Vocab: vocab.Len(),
		VocabHash: vocab.Hash(), Notes: sp.Notes, Hashes: src.Hashes, SubwordMerges: merges}
	for _, split := range []struct {
		name     string
		file     string
		examples []datasets.Example
	}{{"train", fileTrain, sp.Train}, {"valid", fileValid, sp.Valid}, {"test", fileTest, sp.Test}} {
		x.Report(Update{Phase: "numericalising " + split.name})
		st, err := text.NumericalizeContext(ctx, tok, vocab, docs(split.examples), filepath.Join(x.Dir, split.file))
		if err != nil {
			return nil, err
		}
		x.AddTokens(st.Tokens)
		res.Unknown += st.Unknown
	}
	labels := labelsFile{Train: labelsOf(sp.Train), Valid: labelsOf(sp.Valid), Test: labelsOf(sp.Test)}
	if err := writeJSONAtomic(filepath.Join(x.Dir, fileLabels), labels); err != nil {
		return nil, err
	}
	return res, nil
}

// taskData is a taskdata stage's output, read back.
type taskData struct {
	res   taskDataResult
	vocab *text.Vocab
	dir   string
}

func openTaskData(m *Manifest) (*taskData, error) {
	td := &taskData{dir: m.Dir}
	if err := m.Decode(&td.res); err != nil {
		return nil, err
	}
	v, err := text.LoadVocab(filepath.Join(m.Dir, fileVocab))
	if err != nil {
		return nil, err
	}
	td.vocab = v
	return td, nil
}

func (td *taskData) bos() int32 { return td.vocab.ID(text.SpecialTokens()[2]) }

// stream reads a corpus file as one token stream.
func (td *taskData) stream(file string) ([]int32, error) {
	return readStream(filepath.Join(td.dir, file), td.vocab)
}

func readStream(path string, v *text.Vocab) ([]int32, error) {
	c, err := text.OpenCorpus(path, v)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := make([]int32, c.NumTokens())
	c.Stream().Read(out, 0)
	return out, nil
}

// classData reads a split's documents and labels.
func (td *taskData) classData(split string) (model.ClassData, error) {
	var labels labelsFile
	if _, err := readJSON(filepath.Join(td.dir, fileLabels), &labels); err != nil {
		return model.ClassData{}, err
	}
	file, ys := map[string]string{"train": fileTrain, "valid": fileValid, "test": fileTest}[split],
		map[string][]int{"train": labels.Train, "valid": labels.Valid, "test": labels.Test}[split]
	c, err := text.OpenCorpus(filepath.Join(td.dir, file), td.vocab)
	if err != nil {
		return model.ClassData{}, err
	}
	defer c.Close()
	if c.NumDocs() != len(ys) {
		return model.ClassData{}, fmt.Errorf("%s: %d documents, %d labels", file, c.NumDocs(), len(ys))
	}
	d := model.ClassData{Docs: make([][]int32, c.NumDocs()), Labels: ys}
	for i := range d.Docs {
		d.Docs[i] = c.Doc(i)
	}
	return d, nil
}

// corpusKey is a corpus stage's key: everything its output depends on.
type corpusKey struct {
	Corpus      string                `json:"corpus"`
	Hashes      map[string]string     `json:"data_hashes"`
	Reading     *datasets.GenericSpec `json:"reading,omitempty"` // as in taskDataKey
	Vocab       int                   `json:"vocab"`
	Tokens      int                   `json:"tokens"`
	ValidTokens int                   `json:"valid_tokens"`
	Seed        uint64                `json:"seed"`
	tokenizing
}

// corpus plans the corpus stage of s's pretraining corpus.
func (b *builder) corpus(s ablations.Settings) (*Stage, error) {
	src, err := b.p.source(b.e, b.sc.PretrainCorpus)
	if err != nil {
		why := "the pretraining corpus of scale " + b.sc.Name
		if _, declared := b.e.Datasets[b.sc.PretrainCorpus]; declared {
			why += ", declared in the file as [datasets." + b.sc.PretrainCorpus + "]"
		}
		return nil, &DataError{Where: b.e.DatasetWhere(b.sc.PretrainCorpus), Dataset: b.sc.PretrainCorpus, Why: why, Err: err}
	}
	sc := b.sc
	vocab, _ := s.VocabCaps(sc)
	spec := vocabSpecOf(s, sc, vocab)
	key := corpusKey{Corpus: src.Name, Hashes: src.Hashes, Reading: src.Reading, Vocab: vocab, Tokens: sc.PretrainTokens,
		ValidTokens: sc.PretrainValidTokens, Seed: s.SplitSeed, tokenizing: spec.key()}
	label := "corpus " + src.Name
	if spec.Pieces > 0 {
		label += " subword"
	}
	tokens := int64(sc.PretrainTokens + sc.PretrainValidTokens)
	if sc.PretrainTokens == 0 {
		tokens = words(src.DS.Train) + words(src.DS.Valid) + words(src.DS.Unlabelled)
	}
	return &Stage{Kind: KindCorpus, Code: CodeVersion(KindCorpus), Label: label, Key: key,
		Work: Work{Tokens: tokens},
		Run:  func(ctx context.Context, x *Exec) (any, error) { return runCorpus(ctx, x, src, sc, s.SplitSeed, spec) }}, nil
}

// Files of a corpus stage.
const (
	fileCorpusTrain = "train.corp"
	fileCorpusValid = "valid.corp"
)

type corpusResult struct {
	Corpus      string            `json:"corpus"`
	TrainDocs   int               `json:"train_docs"`
	TrainTokens int64             `json:"train_tokens"`
	ValidDocs   int               `json:"valid_docs"`
	ValidTokens int64             `json:"valid_tokens"`
	Vocab       int               `json:"vocab"`
	VocabHash   string            `json:"vocab_hash"`
	Hashes      map[string]string `json:"data_hashes"`
	Notes       []string          `json:"notes,omitempty"`
	// SubwordMerges is the number of merges of the subword model (with
	// tokenizer "subword").
	SubwordMerges int `json:"subword_merges,omitempty"`
}

// corpusSplits returns a pretraining corpus's training and validation
// documents, labelled or not; a corpus without a validation split gives
// 5% of its documents (stratified by nothing, seeded).
func corpusSplits(ds *datasets.Dataset, seed uint64) (train, valid []datasets.Example, note string, err error) {
	all := append(append([]datasets.Example(nil), ds.Train...), ds.Unlabelled...)
	if len(ds.Valid) > 0 {
		return all, ds.Valid, "", nil
	}
	if len(all) == 0 {
		all = ds.Test
	}
	unlabelled := make([]datasets.Example, len(all))
	for i, e := range all {
		unlabelled[i] = datasets.Example{Text: e.Text, Label: datasets.NoLabel}
	}
	train, valid, err = datasets.SplitValidation(unlabelled, 0.05, seed)
	return train, valid, fmt.Sprintf("no validation split: 5%% of its documents held out (seed %d)", seed), err
}

// takeTokens shuffles docs with seed and keeps them, in the shuffled
// order, until about n tokens (all when n is 0).
func takeTokens(tok *text.Tokenizer, examples []datasets.Example, n int, seed uint64) []datasets.Example {
	order := slices.Clone(examples)
	rng := rand.New(rand.NewPCG(seed, saltCorpus))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	if n <= 0 {
		return order
	}
	var got int
	for i, e := range order {
		if got >= n {
			return order[:i]
		}
		got += len(tok.Tokenize(e.Text...))
	}
	return order
}

// runCorpus tokenises the pretraining corpus's selected documents, chosen
// by their word tokens whatever the tokeniser, so that words and subwords
// read the same text. With subwords it first learns their model from the
// chosen training documents.
func runCorpus(ctx context.Context, x *Exec, src *source, sc ablations.Scale, seed uint64, spec vocabSpec) (any, error) {
	tok := text.NewTokenizer(text.Options{})
	train, valid, note, err := corpusSplits(src.DS, seed)
	if err != nil {
		return nil, err
	}
	x.Report(Update{Phase: "choosing documents"})
	train = takeTokens(tok, train, sc.PretrainTokens, seed)
	valid = takeTokens(tok, valid, sc.PretrainValidTokens, seed+1)
	merges := 0
	if spec.Pieces > 0 {
		x.Report(Update{Phase: "learning subwords"})
		bpe, err := learnSubword(ctx, train, spec, "the pretraining corpus "+src.Name, x.Dir)
		if err != nil {
			return nil, err
		}
		tok, merges = text.NewTokenizer(text.Options{Subword: bpe}), bpe.NumMerges()
	}
	x.Report(Update{Phase: "tokenising"})
	vocab, st, err := text.BuildCorpus(ctx, tok, docs(train), filepath.Join(x.Dir, fileCorpusTrain), spec.options())
	if err != nil {
		return nil, err
	}
	if err := vocab.Save(filepath.Join(x.Dir, fileVocab)); err != nil {
		return nil, err
	}
	vst, err := text.NumericalizeContext(ctx, tok, vocab, docs(valid), filepath.Join(x.Dir, fileCorpusValid))
	if err != nil {
		return nil, err
	}
	x.AddTokens(st.Tokens + vst.Tokens)
	res := corpusResult{Corpus: src.Name, TrainDocs: int(st.Docs), TrainTokens: st.Tokens, ValidDocs: int(vst.Docs),
		ValidTokens: vst.Tokens, Vocab: vocab.Len(), VocabHash: vocab.Hash(), Hashes: src.Hashes, SubwordMerges: merges}
	if note != "" {
		res.Notes = append(res.Notes, src.Name+": "+note)
	}
	return res, nil
}
