// Package results holds result records: one JSON object per experiment cell
// and seed, what produced it and what it measured. The runner appends them,
// the report and compare commands read them, and the paper's own numbers are
// records too (source "paper"), so every table compares like with like.
//
// On disk a record set is JSON Lines: results/<experiment>.jsonl, appended
// one whole line at a time under a lock, plus the paper's baseline in
// results/paper.jsonl.
package results

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Predictions are a split's predicted classes, one byte per example in the
// split's order (example i is byte i), base64-encoded, with a digest that
// says which examples they are: two records' predictions pair up only
// when their Examples digests are equal.
type Predictions struct {
	// Examples is the SHA-256 of the split's labels and token counts in
	// order ("label:tokens\n" per example): the same examples, tokenised
	// alike, in the same order, whatever the vocabulary.
	Examples string `json:"examples"`
	N        int    `json:"n"`
	Classes  string `json:"classes"` // base64 of N bytes, each a class index
	Labels   string `json:"labels"`  // base64 of N bytes: each example's true class
}

// Decode returns the predicted and the true class of each example.
func (p *Predictions) Decode() (predicted, labels []int, err error) {
	if predicted, err = decodeBytes(p.Classes, p.N); err != nil {
		return nil, nil, fmt.Errorf("predictions: classes: %w", err)
	}
	if labels, err = decodeBytes(p.Labels, p.N); err != nil {
		return nil, nil, fmt.Errorf("predictions: labels: %w", err)
	}
	return predicted, labels, nil
}

func decodeBytes(s string, n int) ([]int, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != n {
		return nil, fmt.Errorf("%d bytes for %d examples", len(raw), n)
	}
	out := make([]int, len(raw))
	for i, b := range raw {
		out[i] = int(b)
	}
	return out, nil
}

// PretrainedLM identifies a general-domain language model.
type PretrainedLM struct {
	Kind   string `json:"kind"`             // PretrainedOurs, PretrainedImported or PretrainedZoo
	Name   string `json:"name,omitempty"`   // imported: the registry name ("wt103-fwd"), else the state dict's file name; zoo: the entry
	Source string `json:"source,omitempty"` // imported: "fastai model zoo", or the state dict's path; zoo: the entry's folder
	MD5    string `json:"md5,omitempty"`    // imported from the registry: the archive's MD5, as the registry gives it
	SHA256 string `json:"sha256,omitempty"` // imported: the state dict's SHA-256; zoo: the checkpoint's, decompressed
	Corpus string `json:"corpus,omitempty"` // ours and zoo: the pretraining corpus
	Stage  string `json:"stage"`            // the pretrain or import stage's id in the cache
	Model  string `json:"model,omitempty"`  // its shape, "emb/hidden x layers": "400/1152x3"
	Epochs int    `json:"epochs,omitempty"` // ours: the pretraining's epochs (records before 2026-12-03 leave it out; their config's scale has it)
	// Backward is a bidirectional cell's backward LM.
	Backward *PretrainedLM `json:"backward,omitempty"`
}

// Kinds of PretrainedLM.
const (
	PretrainedOurs     = "ours"     // our pretraining stage
	PretrainedImported = "imported" // a model pretrained elsewhere (fastai's)
	PretrainedZoo      = "zoo"      // a model of the project's zoo (package zoo), pretrained by our own pretrain stage
)

// Record is one measured cell of one experiment for one seed.
type Record struct {
	// What was measured.
	Experiment string  `json:"experiment"` // e.g. "table6"
	Row        string  `json:"row"`        // the method or variant, e.g. "full+discr+stlr"
	Dataset    string  `json:"dataset"`    // the column, e.g. "trec6"
	Split      string  `json:"split"`      // "validation" or "test": which data the metric was computed on
	Metric     string  `json:"metric"`     // "error" (%, lower is better) unless said otherwise
	Value      float64 `json:"value"`      // the metric, in percent for errors
	Seed       int64   `json:"seed"`
	Source     string  `json:"source"`               // "ours" or "paper"
	TrainSize  int     `json:"train_size,omitempty"` // labelled training examples (Figure 3's x axis)
	// Curves holds per-epoch series, e.g. "val_error" for Figure 4 and
	// "lm_val_loss" for LM training curves; index = epoch-1.
	Curves map[string][]float64 `json:"curves,omitempty"`
	// Extra metrics of the same cell (e.g. "test_error" beside a validation-selected run).
	Metrics map[string]float64 `json:"metrics,omitempty"`

	// What produced it.
	Scale           string            `json:"scale,omitempty"`       // "paper", "small", "tiny", ...
	ConfigHash      string            `json:"config_hash,omitempty"` // hash of the resolved config
	Config          json.RawMessage   `json:"config,omitempty"`      // the full resolved config
	DataHashes      map[string]string `json:"data_hashes,omitempty"` // file -> sha256
	GitCommit       string            `json:"git_commit,omitempty"`
	GitDirty        bool              `json:"git_dirty,omitempty"`
	GitFromWorkTree bool              `json:"git_from_worktree,omitempty"` // the binary carried no commit: GitCommit is the checkout's HEAD at run time
	GoVersion       string            `json:"go_version,omitempty"`
	Machine         string            `json:"machine,omitempty"` // host, CPU model and cores, or GPU
	Engine          string            `json:"engine,omitempty"`  // e.g. "cpu/openblas", "cuda"
	WallSeconds     float64           `json:"wall_seconds,omitempty"`
	TokensPerS      float64           `json:"tokens_per_s,omitempty"`
	Started         time.Time         `json:"started,omitempty"`
	Finished        time.Time         `json:"finished,omitempty"`
	Note            string            `json:"note,omitempty"` // e.g. "AG: train/val/test carved from the 7,600 official test examples"
	// Pretrained is the general-domain LM the cell's classifier started
	// from: our pretraining stage or an imported model; nil for a row
	// without one ("scratch", no pretraining) and for records written
	// before it was recorded.
	Pretrained *PretrainedLM `json:"pretrained,omitempty"`

	// Predictions are the class the cell's classifier (or ensemble) gave
	// each example of the split it was scored on, so two records of the
	// same examples can be tested example by example (McNemar, a
	// bootstrap over examples); nil for records written before they were
	// kept.
	Predictions *Predictions `json:"predictions,omitempty"`

	// Origin is where the record was read from, "file:line"; ReadFile and
	// ReadDir set it so that validation messages point at the line. It is
	// never written.
	Origin string `json:"-"`
}
