package runner

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/results"
)

// cellConfig is a record's resolved configuration: everything that decided
// its number.
type cellConfig struct {
	Experiment string             `json:"experiment"`
	Source     string             `json:"source"`
	Row        string             `json:"row"`
	Task       string             `json:"task"`
	Split      string             `json:"split"`
	TrainSize  int                `json:"train_size,omitempty"`
	Seed       int64              `json:"seed"`
	Settings   ablations.Settings `json:"settings"`
	Scale      ablations.Scale    `json:"scale"`
	Stages     map[string]string  `json:"stages"` // kind (and direction) -> stage ID in the cache
	// StageSeconds is each of those stages' wall time, so that what a
	// table cost can be summed from the records alone, on a machine
	// whose cache never held the stages ('ulmfit report', walltime).
	StageSeconds map[string]float64 `json:"stage_seconds,omitempty"`
	// StageBLASThreads is the OpenBLAS thread count that built each stage
	// run on the CPU with OpenBLAS (blasthreads.go): the same stage built
	// at another count can give another value.
	StageBLASThreads map[string]int `json:"stage_blas_threads,omitempty"`
}

// configHash identifies the configuration of a cell across experiments,
// rows and seeds: settings, scale, dataset, split and training size.
func configHash(c cellConfig) string {
	data, _ := json.Marshal(struct {
		Settings  ablations.Settings `json:"settings"`
		Scale     ablations.Scale    `json:"scale"`
		Task      string             `json:"task"`
		Split     string             `json:"split"`
		TrainSize int                `json:"train_size"`
	}{c.Settings, c.Scale, c.Task, c.Split, c.TrainSize})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:16]
}

// buildRecord makes the record of a cell whose stages are done.
func buildRecord(p *Plan, c *Cell, done map[string]*Manifest, prov Provenance) (results.Record, error) {
	get := func(s *Stage) (*Manifest, error) {
		if s == nil {
			return nil, nil
		}
		m, ok := done[s.ID()]
		if !ok {
			return nil, fmt.Errorf("stage %s has not run", s.Label)
		}
		return m, nil
	}
	evalM, err := get(c.Eval)
	if err != nil {
		return results.Record{}, err
	}
	var ev evaluateResult
	if err := evalM.Decode(&ev); err != nil {
		return results.Record{}, err
	}
	split := "validation"
	if ev.Split == "test" {
		split = "test"
	}
	cfg := cellConfig{Experiment: p.Exp.Name, Source: p.Exp.Source, Row: c.Row.ID, Task: c.Task, Split: split,
		TrainSize: c.TrainSize, Seed: c.Seed, Settings: c.Settings.WithDefaults(), Scale: p.Scale, Stages: map[string]string{},
		StageSeconds: map[string]float64{}}
	rec := results.Record{
		Experiment: p.Exp.Name, Row: c.Row.ID, Dataset: c.Dataset, Split: split, Metric: "error", Value: ev.Error,
		Seed: c.Seed, Source: results.SourceOurs, TrainSize: c.TrainSize, Scale: p.Scale.Name,
		Curves: map[string][]float64{}, Metrics: map[string]float64{}, DataHashes: map[string]string{},
		GitCommit: prov.GitCommit, GitDirty: prov.GitDirty, GitFromWorkTree: prov.FromWorkTree, GoVersion: prov.GoVersion, Machine: prov.Machine,
		Engine: cmp.Or(engineName(c.Backend), prov.Engine), // the engine at the cell's precision
	}
	if ev.ForwardError != 0 || ev.BackwardError != 0 {
		rec.Metrics["forward_error"], rec.Metrics["backward_error"] = ev.ForwardError, ev.BackwardError
	}
	if pr := ev.Predictions; pr != nil {
		rec.Predictions = &results.Predictions{Examples: pr.Examples, N: pr.N, Classes: pr.Classes, Labels: pr.Labels}
	}
	var started time.Time
	var wall float64
	part := &recordPart{rec: &rec, task: c.Task}
	for _, st := range recordStages(c) {
		m, err := get(st.stage)
		if err != nil {
			return results.Record{}, err
		}
		if m == nil {
			continue
		}
		cfg.Stages[st.key()] = m.ID
		cfg.StageSeconds[st.key()] = math.Round(m.WallSeconds*1000) / 1000
		if n := blasThreadsOf(m.Machine); n > 0 {
			if cfg.StageBLASThreads == nil {
				cfg.StageBLASThreads = map[string]int{}
			}
			cfg.StageBLASThreads[st.key()] = n
		}
		wall += m.WallSeconds
		if started.IsZero() || m.Started.Before(started) {
			started = m.Started
		}
		if add := recordParts[st.stage.Kind]; add != nil && !st.backward {
			if err := add(part, m); err != nil {
				return results.Record{}, err
			}
		}
	}
	notes := append(part.notes, c.Notes...)
	if rec.Pretrained, err = pretrainedOf(p, c, get); err != nil {
		return results.Record{}, err
	}
	for k, v := range rec.Curves {
		if len(v) == 0 {
			delete(rec.Curves, k)
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return results.Record{}, err
	}
	rec.Config, rec.ConfigHash = raw, configHash(cfg)
	rec.WallSeconds = math.Round(wall*1000) / 1000
	rec.Started, rec.Finished = started, evalM.Finished
	rec.Note = strings.Join(notes, "; ")
	return rec, nil
}

// recordStage is one of a cell's stages as its record names it: by its
// kind, and the backward classifier of a bidirectional cell as
// "classifier_backward".
type recordStage struct {
	stage    *Stage // nil when the cell has none of this kind
	backward bool
}

func (r recordStage) key() string {
	if r.backward {
		return backwardKey(r.stage.Kind)
	}
	return r.stage.Kind
}

// backwardKey is a record's name for the backward chain's stage of a kind.
func backwardKey(kind string) string { return kind + "_backward" }

// recordStages are the stages a cell's record names, in the order their
// notes join the record's note.
func recordStages(c *Cell) []recordStage {
	out := []recordStage{{stage: c.Eval}, {stage: c.Data}, {stage: c.FineTune}, {stage: c.Pretrain}, {stage: c.Corpus}, {stage: c.Import}}
	for i, cl := range c.Classifiers {
		out = append(out, recordStage{stage: cl, backward: i > 0})
	}
	return out
}

// recordPart is a record being built from its cell's stages: what each
// kind's result adds (recordParts) besides its stage ID and wall time.
type recordPart struct {
	rec   *results.Record
	task  string   // the cell's dataset, as the experiment names it
	notes []string // for the record's note
}

func (r *recordPart) taskData(m *Manifest) error {
	var td taskDataResult
	if err := m.Decode(&td); err != nil {
		return err
	}
	for f, h := range td.Hashes {
		r.rec.DataHashes[r.task+"/"+f] = h
	}
	r.notes = append(r.notes, td.Notes...)
	if td.SubwordMerges > 0 {
		r.notes = append(r.notes, fmt.Sprintf("subwords: a vocabulary of %s pieces (%s merges)", count(td.Vocab), count(td.SubwordMerges)))
	}
	return nil
}

func (r *recordPart) corpus(m *Manifest) error {
	var cr corpusResult
	if err := m.Decode(&cr); err != nil {
		return err
	}
	for f, h := range cr.Hashes {
		r.rec.DataHashes[cr.Corpus+"/"+f] = h
	}
	r.notes = append(r.notes, fmt.Sprintf("pretrained on %s tokens of %s", count(int(cr.TrainTokens)), cr.Corpus))
	r.notes = append(r.notes, cr.Notes...)
	return nil
}

func (r *recordPart) importLM(m *Manifest) error {
	var ir importResult
	if err := m.Decode(&ir); err != nil {
		return err
	}
	r.notes = append(r.notes, fmt.Sprintf("pretrained LM imported: %s", describeImport(ir)))
	r.notes = append(r.notes, ir.Notes...)
	return nil
}

// zooLM notes the zoo model and what it was pretrained on, and adds its
// corpus's file digests to the record's, as our own pretraining's corpus
// stage does.
func (r *recordPart) zooLM(m *Manifest) error {
	var zr zooResult
	if err := m.Decode(&zr); err != nil {
		return err
	}
	for f, h := range zr.CorpusFiles {
		r.rec.DataHashes[zr.Corpus+"/"+f] = h
	}
	r.notes = append(r.notes, fmt.Sprintf("pretrained LM from the model zoo: %s, pretrained on %s tokens of %s (sha256 %s)",
		zr.Name, count(int(zr.CorpusTokens)), zr.Corpus, zr.CheckpointSHA256))
	return nil
}

// fineTune adds the LM fine-tuning's per-epoch losses and, with early
// stopping, its best and stopped epochs.
func (r *recordPart) fineTune(m *Manifest) error {
	var lr lmResult
	if err := m.Decode(&lr); err != nil {
		return err
	}
	for _, e := range lr.Epochs {
		r.rec.Curves["lm_train_loss"] = append(r.rec.Curves["lm_train_loss"], e.TrainCE)
		r.rec.Curves["lm_val_loss"] = append(r.rec.Curves["lm_val_loss"], e.ValidCE)
	}
	// With lm_patience: the epoch whose LM was kept and, when the
	// patience ended it, the last that ran (1-based, as best_epoch is).
	if lr.BestEpoch > 0 {
		r.rec.Metrics["lm_best_epoch"] = float64(lr.BestEpoch)
	}
	if lr.Stopped {
		r.rec.Metrics["lm_stopped_epoch"] = float64(len(lr.Epochs))
	}
	return nil
}

// classifier adds the (forward) classifier's curves, its best epoch, the
// epoch early stopping ended it after (stopped_epoch, only when it did) and
// its speed.
func (r *recordPart) classifier(m *Manifest) error {
	var cr classifierResult
	if err := m.Decode(&cr); err != nil {
		return err
	}
	r.rec.Curves["val_error"] = cr.ValError
	r.rec.Curves["train_loss"] = cr.TrainLoss
	r.rec.Curves["lr"] = cr.LR
	r.rec.Metrics["best_epoch"] = float64(cr.BestEpoch + 1)
	r.rec.Metrics["best_val_error"] = cr.BestValError
	if n := len(cr.ValError); n > 0 {
		r.rec.Metrics["last_epoch_val_error"] = cr.ValError[n-1]
		if cr.Stopped {
			// The last epoch that ran, 1-based as best_epoch is.
			r.rec.Metrics["stopped_epoch"] = float64(n)
		}
	}
	r.rec.TokensPerS = m.TokensPerS
	return nil
}

// resultsLock serialises the runners writing one experiment's records.
func resultsLock(ctx context.Context, dir, experiment string) (*lockHeld, error) {
	return acquireFile(ctx, filepath.Join(dir, "."+experiment+".lock"), nil)
}

// sameRun says whether two records are one measurement written twice (a
// rerun that found every stage cached). Records naming their stages are
// the same run when they name the same stages, even if the configuration
// hash moved: a key added to the scale with a value that changes no stage
// changes the hash of every cell, and the cached stages it reran are the
// measurement already recorded. Records without stages fall back on the
// hash.
func sameRun(a, b results.Record) bool {
	if a.Cell() != b.Cell() || a.Seed != b.Seed || a.Scale != b.Scale || a.Value != b.Value {
		return false
	}
	if a.ConfigHash == b.ConfigHash {
		return true
	}
	sa, sb := stagesOf(a), stagesOf(b)
	if len(sa) == 0 || len(sa) != len(sb) {
		return false
	}
	for k, id := range sa {
		if sb[k] != id {
			return false
		}
	}
	return true
}

// stagesOf reads the cache IDs of the stages a record's configuration
// names (kind -> ID); nil when it names none or its configuration does not
// parse.
func stagesOf(r results.Record) map[string]string {
	if len(r.Config) == 0 {
		return nil
	}
	var c struct {
		Stages map[string]string `json:"stages"`
	}
	if json.Unmarshal(r.Config, &c) != nil {
		return nil
	}
	return c.Stages
}

// writeRecords appends the records not yet in results/<experiment>.jsonl
// and rewrites the stable results/<experiment>.json: the latest record of
// every cell, seed and scale, in the experiment's order.
func writeRecords(ctx context.Context, dir string, p *Plan, recs []results.Record) (written recordsWritten, err error) {
	if len(recs) == 0 {
		return written, nil
	}
	lock, err := resultsLock(ctx, dir, p.Exp.Name)
	if err != nil {
		return written, fmt.Errorf("writing the records of %s to %s: %w", p.Exp.Name, dir, err)
	}
	defer lock.release()
	if err := removeStaleTemps(dir, p.Exp.Name); err != nil {
		return written, err
	}
	logPath := filepath.Join(dir, p.Exp.Name+results.Ext)
	have, err := results.ReadFile(logPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return written, fmt.Errorf("%w (the records file is damaged: repair or delete that line, then run again; finished stages are cached)", err)
	}
	var fresh []results.Record
	for _, r := range recs {
		dup := false
		for _, h := range append(have, fresh...) {
			if sameRun(h, r) {
				dup = true
				break
			}
		}
		if !dup {
			fresh = append(fresh, r)
		}
	}
	var kept, superseded []results.Record
	for _, h := range have {
		if slices.ContainsFunc(fresh, func(r results.Record) bool { return supersedes(r, h) }) {
			superseded = append(superseded, h)
		} else {
			kept = append(kept, h)
		}
	}
	switch {
	case len(superseded) > 0:
		// Kept aside first, then taken out: a kill between the two
		// leaves them in both files, never in neither.
		written.setAside = filepath.Join(dir, p.Exp.Name+supersededExt)
		if err := results.Append(written.setAside, superseded...); err != nil {
			return written, err
		}
		if err := results.WriteFile(logPath, append(kept, fresh...)); err != nil {
			return written, err
		}
		faultPoint("records", p.Exp.Name)
	case len(fresh) > 0:
		if err := results.Append(logPath, fresh...); err != nil {
			return written, err
		}
		faultPoint("records", p.Exp.Name)
	}
	written.added, written.superseded = len(fresh), len(superseded)
	all := append(kept, fresh...)
	stable := filepath.Join(dir, p.Exp.Name+".json")
	if err := writeStable(stable, p.Exp.Rows, all); err != nil {
		return written, fmt.Errorf("write %s: %w (the records are in %s; the next run rewrites it)", stable, err, logPath)
	}
	return written, nil
}

// recordsWritten is what writeRecords did: records added, and earlier
// records of the same cells that they superseded, set aside in the file
// setAside.
type recordsWritten struct {
	added, superseded int
	setAside          string
}

// supersededExt ends the name of the file beside an experiment's records
// that holds the records a later run superseded (supersedes). It does not
// end in results.Ext, so that reading the folder leaves them out; 'ulmfit
// report --results FILE' still reads it.
const supersededExt = results.Ext + ".superseded"

// supersedes says whether a new record r replaces the earlier record h in
// the records file: ours, the same cell, seed and scale, and not the same
// measurement (sameRun) but one made since with other settings (a row of
// the file edited), other code or another engine. Left beside it, the two
// would be one cell recorded twice with different values, which tables
// and comparisons refuse (results.Validate); the latest run is what the
// experiment file now says.
func supersedes(r, h results.Record) bool {
	return h.Source == results.SourceOurs && r.Source == results.SourceOurs && h.Cell() == r.Cell() &&
		h.Seed == r.Seed && h.Scale == r.Scale && !sameRun(h, r)
}

// removeStaleTemps deletes the temporary files of experiment's summary
// file that a runner killed mid-write left in dir. Runners write it only
// under the experiment's results lock, which the caller holds, so no live
// writer owns them.
func removeStaleTemps(dir, experiment string) error {
	temps, err := filepath.Glob(filepath.Join(dir, "."+experiment+".json.tmp*"))
	if err != nil {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeStable writes the latest record per cell, seed and scale as one
// indented JSON array, ordered by row (as the file lists them), dataset,
// training size, scale and seed, so it diffs cleanly between runs. It is a
// summary: each record's per-epoch curves and resolved config stay in the
// .jsonl log beside it (config_hash names the config), which keeps the file
// small enough to read.
func writeStable(path string, rows []experiments.Row, all []results.Record) error {
	type key struct {
		cell  results.Cell
		seed  int64
		scale string
	}
	latest := map[key]results.Record{}
	for _, r := range all {
		r.Origin, r.Curves, r.Config = "", nil, nil
		latest[key{r.Cell(), r.Seed, r.Scale}] = r
	}
	out := slices.Collect(maps.Values(latest))
	slices.SortFunc(out, rowOrder(rows))
	return writeJSONAtomic(path, out)
}

// recordOrder orders records as the experiment lists its rows (rows it does
// not list last), then by dataset, training size, scale and seed: the order
// of the stable record file and of a run's summary.
func recordOrder(p *Plan) func(a, b results.Record) int { return rowOrder(p.Exp.Rows) }

// rowOrder is recordOrder for an experiment's rows.
func rowOrder(rows []experiments.Row) func(a, b results.Record) int {
	rowRank := map[string]int{}
	for i, r := range rows {
		rowRank[r.ID] = i
	}
	rank := func(row string) int {
		if v, ok := rowRank[row]; ok {
			return v
		}
		return len(rowRank)
	}
	return func(a, b results.Record) int {
		return cmp.Or(
			cmp.Compare(rank(a.Row), rank(b.Row)),
			cmp.Compare(a.Dataset, b.Dataset),
			cmp.Compare(a.TrainSize, b.TrainSize),
			cmp.Compare(a.Scale, b.Scale),
			cmp.Compare(a.Seed, b.Seed),
		)
	}
}

// readRecords reads DIR/<experiment>.jsonl, empty when absent.
func readRecords(dir, experiment string) ([]results.Record, error) {
	recs, err := results.ReadFile(filepath.Join(dir, experiment+results.Ext))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return recs, err
}

// describeImport says which model an import stage read.
func describeImport(ir importResult) string {
	if ir.ArchiveMD5 != "" {
		return fmt.Sprintf("%s (%s, md5 %s)", ir.Name, ir.Source, ir.ArchiveMD5)
	}
	return fmt.Sprintf("%s (sha256 %s)", ir.Source, ir.PthSHA256)
}

// pretrainedOf says which general-domain LM each of c's chains started
// from: an import stage's model, a zoo model or our pretraining on a
// corpus; nil when the cell has none.
func pretrainedOf(p *Plan, c *Cell, get func(*Stage) (*Manifest, error)) (*results.PretrainedLM, error) {
	var out []*results.PretrainedLM
	for _, s := range c.LMs {
		if s == nil {
			continue
		}
		m, err := get(s)
		if err != nil {
			return nil, err
		}
		lm := &results.PretrainedLM{Stage: m.ID}
		switch s.Kind {
		case KindImport:
			var ir importResult
			if err := m.Decode(&ir); err != nil {
				return nil, err
			}
			lm.Kind, lm.Name, lm.Source, lm.MD5, lm.SHA256, lm.Model = results.PretrainedImported, ir.Name, ir.Source, ir.ArchiveMD5, ir.PthSHA256, ir.Model
		case KindZoo:
			var zr zooResult
			if err := m.Decode(&zr); err != nil {
				return nil, err
			}
			lm.Kind, lm.Name, lm.Source, lm.SHA256, lm.Corpus, lm.Model = results.PretrainedZoo, zr.Name, zr.Dir, zr.CheckpointSHA256, zr.Corpus, zr.Model
		case KindPretrain:
			corpus, err := get(s.Inputs[0])
			if err != nil {
				return nil, err
			}
			var cr corpusResult
			if err := corpus.Decode(&cr); err != nil {
				return nil, err
			}
			lm.Kind, lm.Corpus, lm.Model = results.PretrainedOurs, cr.Corpus, dimsText(p.Scale.Emb, p.Scale.Hidden, p.Scale.Layers)
			lm.Epochs = p.Scale.PretrainEpochs
		default:
			continue
		}
		out = append(out, lm)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if len(out) > 1 {
		out[0].Backward = out[1]
	}
	return out[0], nil
}

// RecordModel is where the cache holds what a record's classifier needs:
// its checkpoint, the backward one of a bidirectional row, and the task
// data's vocabulary.
type RecordModel struct {
	Classifier, Backward, Vocab string
	// Subword is the subword model the text was tokenised with; "" for
	// fastai's words.
	Subword string
}

// ModelOf finds, in the cache at cacheDir, the stages a record names: the
// classifier (and backward classifier) and the vocabulary it was trained
// with. A stage the cache no longer holds is an error that says so.
func ModelOf(cacheDir string, r results.Record) (RecordModel, error) {
	stages := stagesOf(r)
	if stages == nil {
		return RecordModel{}, fmt.Errorf("record %s names no stages (written before records kept their configuration?)", r.Origin)
	}
	path := func(kind, key, file string) (string, error) {
		id, ok := stages[key]
		if !ok {
			return "", fmt.Errorf("record %s names no %s stage", r.Origin, key)
		}
		p := filepath.Join(cacheDir, kind, id, file)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("the cache %s no longer holds the %s stage %s the record %s names (removed by 'ulmfit cache gc', or another cache?): "+
				"run the experiment again to rebuild it", cacheDir, key, id, r.Origin)
		}
		return p, nil
	}
	var m RecordModel
	var err error
	if m.Classifier, err = path(KindClassifier, KindClassifier, fileClassifier); err != nil {
		return m, err
	}
	if m.Vocab, err = path(KindTaskData, KindTaskData, fileVocab); err != nil {
		return m, err
	}
	if bpe := filepath.Join(filepath.Dir(m.Vocab), fileSubword); isFile(bpe) {
		m.Subword = bpe
	}
	if _, ok := stages[backwardKey(KindClassifier)]; ok {
		if m.Backward, err = path(KindClassifier, backwardKey(KindClassifier), fileClassifier); err != nil {
			return m, err
		}
	}
	return m, nil
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
