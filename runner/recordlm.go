package runner

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// RecordLM is where the cache holds a record's fine-tuned language model
// (the forward chain's) and the text it was trained and validated on, with
// the settings its validation read that text with.
type RecordLM struct {
	Checkpoint string // the finetune stage's LM
	Vocab      string // the taskdata stage's vocabulary, which the LM reads
	// Subword is the taskdata stage's subword model, which cut its text;
	// "" for fastai's words.
	Subword string
	// Splits are the task data's numericalised corpus files by split:
	// "lm" (the fine-tuning text), "train", "valid", "test".
	Splits map[string]string
	// Batch and BPTT are LM fine-tuning's: its validation reads the
	// validation stream in fixed BPTT windows, ValidBatch streams.
	Batch, BPTT int
	Backward    bool // the LM reads documents backwards
	// Ensemble says the row is a bidirectional ensemble: its record names
	// a backward classifier, and so a backward LM beside this one.
	Ensemble bool
	// BF16 says the LM was fine-tuned, and validated, with bfloat16
	// products (precision "bf16").
	BF16 bool
	// ValLoss is the validation cross-entropy the fine-tuning recorded
	// after each epoch (the record's lm_val_loss curve).
	ValLoss []float64
}

// backwardFineTune is the finetune stage that the backward classifier
// classifierID of a record's ensemble reads: among that stage's inputs.
func backwardFineTune(cacheDir string, r results.Record, classifierID string) (*Manifest, error) {
	cl, err := readManifest(filepath.Join(cacheDir, KindClassifier, classifierID))
	if err == nil && cl == nil {
		err = fmt.Errorf("the cache %s no longer holds the backward classifier stage %s the record %s names: run the experiment again to rebuild it",
			cacheDir, classifierID, r.Origin)
	}
	if err != nil {
		return nil, err
	}
	for _, id := range cl.Inputs {
		if m, err := readManifest(filepath.Join(cacheDir, KindFineTune, id)); err != nil || m != nil {
			return m, err
		}
	}
	return nil, fmt.Errorf("record %s (row %s): its backward classifier %s reads no fine-tuned LM in the cache %s", r.Origin, r.Row, classifierID, cacheDir)
}

// ValidBatch is how many streams LM training's validation cuts a stream
// of n tokens into: the batch size, fewer for short validation text, each
// stream at least 4 windows long (lmRun.train, which says why).
func (l RecordLM) ValidBatch(n int) int {
	return max(1, min(l.Batch, n/(4*l.BPTT)))
}

// LMOf finds, in the cache at cacheDir, the fine-tuned LM a record names
// and its task data: the row's LM, or with backward the backward one,
// which a bidirectional ensemble's backward classifier reads (a backward
// row's own LM is backward either way). A record of a row that fine-tunes
// no LM (or no backward one), or stages the cache no longer holds, is an
// error that says so.
func LMOf(cacheDir string, r results.Record, backward bool) (RecordLM, error) {
	stages := stagesOf(r)
	if stages == nil {
		return RecordLM{}, fmt.Errorf("record %s names no stages (written before records kept their configuration?)", r.Origin)
	}
	stage := func(kind, key string) (*Manifest, error) {
		id, ok := stages[key]
		if !ok {
			return nil, fmt.Errorf("record %s (row %s) names no %s stage: its row fine-tunes no LM", r.Origin, r.Row, key)
		}
		m, err := readManifest(filepath.Join(cacheDir, kind, id))
		if err == nil && m == nil {
			err = fmt.Errorf("the cache %s no longer holds the %s stage %s the record %s names (removed by 'ulmfit cache gc', or another cache?): "+
				"run the experiment again to rebuild it", cacheDir, key, id, r.Origin)
		}
		return m, err
	}
	ft, err := stage(KindFineTune, "finetune")
	if err != nil {
		return RecordLM{}, err
	}
	_, ensemble := stages[backwardKey(KindClassifier)]
	if backward && ensemble {
		if ft, err = backwardFineTune(cacheDir, r, stages[backwardKey(KindClassifier)]); err != nil {
			return RecordLM{}, err
		}
	}
	td, err := stage(KindTaskData, "taskdata")
	if err != nil {
		return RecordLM{}, err
	}
	var key lmKey
	if err := json.Unmarshal(ft.Key, &key); err != nil {
		return RecordLM{}, fmt.Errorf("%s: its key: %w", filepath.Join(ft.Dir, manifestName), err)
	}
	if key.Batch < 1 || key.BPTT < 1 {
		return RecordLM{}, fmt.Errorf("%s: its key names batch %d and bptt %d, want both at least 1", filepath.Join(ft.Dir, manifestName), key.Batch, key.BPTT)
	}
	subword := filepath.Join(td.Dir, fileSubword)
	if !isFile(subword) {
		subword = ""
	}
	if backward && !key.Backward {
		return RecordLM{}, fmt.Errorf("record %s (row %s) has no backward LM: its row reads forward only", r.Origin, r.Row)
	}
	return RecordLM{
		Ensemble:   ensemble,
		Checkpoint: filepath.Join(ft.Dir, fileLMCheckpoint),
		Vocab:      filepath.Join(td.Dir, fileVocab),
		Subword:    subword,
		Splits: map[string]string{"lm": filepath.Join(td.Dir, fileLM), "train": filepath.Join(td.Dir, fileTrain),
			"valid": filepath.Join(td.Dir, fileValid), "test": filepath.Join(td.Dir, fileTest)},
		Batch: key.Batch, BPTT: key.BPTT, Backward: key.Backward, BF16: key.Precision == ablations.PrecisionBF16,
		ValLoss: r.Curves["lm_val_loss"],
	}, nil
}

// CheckpointBackward says, for an LM checkpoint in a stage's folder of a
// cache, whether the LM reads documents from their end, as the stage's
// manifest beside it says: a pretrain or finetune stage's key (lmKey's
// backward), a zoo stage's entry name (its direction's suffix). known is
// false where no manifest says (a checkpoint of another origin).
func CheckpointBackward(ckpt string) (backward, known bool) {
	m, err := readManifest(filepath.Dir(ckpt))
	if err != nil || m == nil {
		return false, false
	}
	switch m.Kind {
	case KindPretrain, KindFineTune:
		var key lmKey
		if json.Unmarshal(m.Key, &key) == nil {
			return key.Backward, true
		}
	case KindZoo:
		var key zooKey
		if json.Unmarshal(m.Key, &key) == nil && key.Name != "" {
			return key.Name == zoo.EntryName(zoo.Model(key.Name), true), true
		}
	}
	return false, false
}
