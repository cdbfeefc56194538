package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// The zoo stage stands in for corpus + pretrain when a row starts from a
// model of the project's zoo (pretrained = "zoo:MODEL", or its scale's
// default, ablations.Scale.StartFrom): it decompresses the entry's
// checkpoint, checking it against the entry's manifest, and writes what a
// pretrain stage writes, lm.ckpt and vocab.txt, so that LM fine-tuning and
// the classifier read it as they read our own pretrained LM, each task's
// vocabulary mapped onto it (model.LoadPretrainedLM). Like the import
// stage's, its checkpoint carries the row's dropouts and AR/TAR for
// fine-tuning, in the entry's shape.
//
// Entries are checked when the plan is made (zooModels.entry), so a file
// that is missing, truncated or altered stops the run before any stage,
// and again by the stage as it reads them. Its key holds the SHA-256 of
// the compressed checkpoint, the checkpoint as read and the vocabulary: an
// entry replaced in the zoo gives new stages, never the old ones. An entry
// stored again in bfloat16 (zoo.StorageBF16) is such a replacement: the
// checkpoint read is the rounded model widened to float32, whose digest is
// not the float32 model's, so its stages are new and the fp32 entry's
// cached ones are never reused for it.
//
// The zoo's kind is declared apart from the others: their constant block
// is part of every stage kind's code version.
const KindZoo = "zoo" // a pretrained LM of the project's model zoo, in place of corpus and pretrain

// zooModels are the zoo entries one plan uses, each opened and checked
// once.
type zooModels struct {
	dir     string
	entries map[string]zooOpened
}

type zooOpened struct {
	entry *zoo.Entry
	err   error
}

func newZooModels(dir string) *zooModels {
	return &zooModels{dir: zoo.Dir(dir), entries: map[string]zooOpened{}}
}

// entry opens the entry name and checks its files against its manifest.
func (z *zooModels) entry(name string) (*zoo.Entry, error) {
	if o, ok := z.entries[name]; ok {
		return o.entry, o.err
	}
	e, err := zoo.Open(z.dir, name)
	if err == nil {
		err = e.Verify()
	}
	if err != nil {
		e = nil
	}
	z.entries[name] = zooOpened{entry: e, err: err}
	return e, err
}

// zooDims is an entry's shape as a model configuration.
func zooDims(e *zoo.Entry) model.Config {
	return model.Config{Vocab: e.Model.Vocab, Emb: e.Model.Emb, Hidden: e.Model.Hidden, Layers: e.Model.Layers}
}

type zooKey struct {
	Name  string            `json:"name"`
	Files map[string]string `json:"files"` // lm.ckpt.xz, lm.ckpt (as read: decompressed, widened from bf16) and vocab.txt -> SHA-256
	Model model.Config      `json:"model"` // the LM as fine-tuning starts from it; Vocab 0: the entry's
}

// zooStage plans reading the zoo entry e for a chain with settings s at
// the row's scale (whose shape is e's).
func (b *builder) zooStage(e *zoo.Entry, s ablations.Settings) *Stage {
	cfg := s.LMConfig(b.sc, 0)
	key := zooKey{Name: e.Name, Model: cfg, Files: map[string]string{
		zoo.CheckpointFile: e.Files[zoo.CheckpointFile].SHA256,
		"lm.ckpt":          e.Checkpoint.SHA256,
		zoo.VocabFile:      e.Files[zoo.VocabFile].SHA256,
	}}
	job := zooJob{be: b.p.Backend, entry: e, cfg: cfg}
	about := e.Model.String()
	if c := e.Made.Corpus.Name; c != "" {
		about += ", " + c
	}
	if st := e.Stored(); st != zoo.StorageFP32 {
		about += ", " + string(st)
	}
	return &Stage{Kind: KindZoo, Code: CodeVersion(KindZoo),
		Label: fmt.Sprintf("zoo %s (%s, sha256 %.12s)", e.Name, about, e.Files[zoo.CheckpointFile].SHA256),
		Key:   key, Work: Work{Tokens: int64(e.Model.Vocab)},
		Run: job.run,
	}
}

// zooResult is a zoo stage's result: the entry, its digests and what its
// manifest says of how it was made, for records.
type zooResult struct {
	Name             string            `json:"name"`
	Dir              string            `json:"dir"` // where the entry was read
	Model            string            `json:"model"`
	Vocab            int               `json:"vocab"`
	VocabHash        string            `json:"vocab_hash"`
	CheckpointSHA256 string            `json:"checkpoint_sha256"` // as read: decompressed, widened from bf16
	ArchiveSHA256    string            `json:"archive_sha256"`    // lm.ckpt.xz
	Storage          zoo.Storage       `json:"storage,omitempty"` // how lm.ckpt.xz stores the parameters; "": fp32
	VocabSHA256      string            `json:"vocab_sha256"`
	Corpus           string            `json:"corpus"`
	CorpusFiles      map[string]string `json:"corpus_files,omitempty"` // SHA-256 of the corpus's files
	CorpusTokens     int64             `json:"corpus_tokens"`
	Epochs           int               `json:"epochs"`
	ValidPerplexity  float64           `json:"valid_perplexity,omitempty"` // after its last epoch
	Experiment       string            `json:"experiment,omitempty"`
	Row              string            `json:"row,omitempty"`
	GitCommit        string            `json:"git_commit,omitempty"`
	Engine           string            `json:"engine,omitempty"`
	Machine          string            `json:"machine,omitempty"`
}

type zooJob struct {
	be    compute.Backend
	entry *zoo.Entry   // as planned: its manifest fixes the digests the files must have
	cfg   model.Config // dropouts and AR/TAR of the row; the shape is the entry's
}

// zooCheckpoint is where the stage decompresses the entry's checkpoint
// before giving it the row's configuration.
const zooCheckpoint = "zoo.ckpt"

func (j zooJob) run(_ context.Context, x *Exec) (any, error) {
	e := j.entry
	if err := e.Verify(); err != nil {
		return nil, err
	}
	raw := filepath.Join(x.Work, zooCheckpoint)
	if err := e.Extract(raw); err != nil {
		return nil, err
	}
	ck, err := model.ReadCheckpoint(raw)
	if err != nil {
		return nil, err
	}
	vocab, err := text.LoadVocab(e.Path(zoo.VocabFile))
	if err != nil {
		return nil, err
	}
	if vocab.Hash() != ck.VocabHash {
		return nil, fmt.Errorf("model zoo entry %s: %s is not the vocabulary of its checkpoint (hash %s, the checkpoint's %s)",
			e.Name, e.Path(zoo.VocabFile), vocab.Hash(), ck.VocabHash)
	}
	params, err := ck.Params(j.be)
	if err != nil {
		return nil, fmt.Errorf("model zoo entry %s: %w", e.Name, err)
	}
	cfg := j.cfg
	cfg.Vocab = vocab.Len()
	out, err := model.NewLM(j.be, cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := out.Params.CopyFrom(params); err != nil {
		return nil, fmt.Errorf("model zoo entry %s: its checkpoint is %d/%dx%d, the stage planned %d/%dx%d: %w",
			e.Name, ck.Config.Emb, ck.Config.Hidden, ck.Config.Layers, cfg.Emb, cfg.Hidden, cfg.Layers, err)
	}
	x.AddTokens(int64(vocab.Len()))
	if err := model.SaveCheckpoint(filepath.Join(x.Dir, fileLMCheckpoint), out, vocab.Hash(), nil); err != nil {
		return nil, err
	}
	if err := vocab.Save(filepath.Join(x.Dir, fileVocab)); err != nil {
		return nil, err
	}
	if err := os.Remove(raw); err != nil {
		return nil, err
	}
	res := zooResult{Name: e.Name, Dir: e.Dir, Model: e.Model.String(), Vocab: vocab.Len(), VocabHash: vocab.Hash(),
		CheckpointSHA256: e.Checkpoint.SHA256, ArchiveSHA256: e.Files[zoo.CheckpointFile].SHA256, Storage: e.Storage, VocabSHA256: e.Files[zoo.VocabFile].SHA256,
		Corpus: e.Made.Corpus.Name, CorpusFiles: e.Made.Corpus.Files, CorpusTokens: e.Made.Corpus.TrainTokens, Epochs: len(e.Made.Epochs),
		Experiment: e.Made.Experiment, Row: e.Made.Row, GitCommit: e.Made.GitCommit, Engine: e.Made.Engine, Machine: e.Made.Machine}
	if n := len(e.Made.Epochs); n > 0 {
		res.ValidPerplexity = e.Made.Epochs[n-1].ValidPerplexity
	}
	return res, nil
}

// ZooSource is what 'ulmfit zoo add' makes an entry from: the finished
// pretrain stage in the folder dir, checked against its sums.json, and
// the record of how it was made from its manifest and its corpus stage's,
// corpus (a corpus stage's folder or its stage.json; "" for the stage the
// pretrain stage names, beside it in the same cache). experiment and row,
// when given, are recorded as where the stage came from.
func ZooSource(dir, corpus, experiment, row string) (zoo.Source, error) {
	var src zoo.Source
	m, err := readManifest(dir)
	if err != nil {
		return src, err
	}
	if m == nil {
		return src, fmt.Errorf("%s holds no %s: not a finished stage (a stage still running keeps its files in ID.partial)", dir, manifestName)
	}
	if m.Kind != KindPretrain {
		return src, fmt.Errorf("%s is a %s stage; the zoo takes a pretrain stage's LM (cache/pretrain/ID)", dir, m.Kind)
	}
	if err := verifySums(dir); err != nil {
		return src, err
	}
	var key lmKey
	if err := json.Unmarshal(m.Key, &key); err != nil {
		return src, fmt.Errorf("%s: key: %w", filepath.Join(dir, manifestName), err)
	}
	var res lmResult
	if err := m.Decode(&res); err != nil {
		return src, err
	}
	if len(m.Inputs) != 1 {
		return src, fmt.Errorf("%s: a pretrain stage reads one corpus stage; this one lists %d inputs", filepath.Join(dir, manifestName), len(m.Inputs))
	}
	if corpus == "" {
		corpus = filepath.Join(filepath.Dir(filepath.Dir(dir)), KindCorpus, m.Inputs[0])
	}
	cm, err := readCorpusManifest(corpus)
	if err != nil {
		return src, err
	}
	if cm.Kind != KindCorpus || cm.ID != m.Inputs[0] {
		return src, fmt.Errorf("%s describes stage %s %s; the pretrain stage %s read the corpus stage %s", corpus, cm.Kind, cm.ID, m.ID, m.Inputs[0])
	}
	var cr corpusResult
	if err := cm.Decode(&cr); err != nil {
		return src, err
	}
	src = zoo.Source{Checkpoint: filepath.Join(dir, fileLMCheckpoint), Vocab: filepath.Join(dir, fileVocab), Direction: zoo.Forward}
	if key.Backward {
		src.Direction = zoo.Backward
	}
	src.Made = zoo.Made{Experiment: experiment, Row: row, Stage: m.ID, Code: m.Code, GitCommit: m.GitCommit, GitDirty: m.GitDirty,
		Engine: m.Engine, Machine: m.Machine, Started: m.Started, Finished: m.Finished, WallSeconds: m.WallSeconds, TokensPerS: m.TokensPerS,
		Key: m.Key,
		Corpus: zoo.Corpus{Name: cr.Corpus, Stage: cm.ID, Files: cr.Hashes, TrainDocs: cr.TrainDocs, TrainTokens: cr.TrainTokens,
			ValidDocs: cr.ValidDocs, ValidTokens: cr.ValidTokens, Key: cm.Key}}
	for _, e := range res.Epochs {
		src.Made.Epochs = append(src.Made.Epochs, zoo.Epoch{TrainCE: e.TrainCE, ValidCE: e.ValidCE,
			TrainPerplexity: math.Exp(e.TrainCE), ValidPerplexity: math.Exp(e.ValidCE), Tokens: e.Tokens, Seconds: e.Seconds})
	}
	return src, nil
}

// readCorpusManifest reads a corpus stage's manifest from its folder or
// its stage.json (a copy under any name), which is all of it 'zoo add'
// needs: the zoo records the corpus's digests, not its files.
func readCorpusManifest(path string) (*Manifest, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the corpus stage %s is not here: name its folder or its %s with --corpus (the record of the text the LM read comes from it)", path, manifestName)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		path = filepath.Join(path, manifestName)
	}
	return readManifestFile(path)
}

// ZooStage finds the pretrain stage that row of o's one experiment trains
// in one direction, and returns its folder in o.Cache and the experiment's
// file: where 'ulmfit zoo add --experiment E --row R' takes its LM from.
// A stage not yet in the cache is an error that says how to build it.
func ZooStage(o Options, row string, backward bool) (dir, experiment string, err error) {
	o.defaults()
	if len(o.Experiments) != 1 {
		return "", "", &PlanError{"name one experiment"}
	}
	o.Only = []string{row}
	ps, err := plans(o)
	if err != nil {
		return "", "", err
	}
	p := ps[0]
	for _, c := range p.Cells {
		for _, lm := range c.LMs {
			if lm == nil || lm.Kind != KindPretrain {
				continue
			}
			if key, ok := lm.Key.(lmKey); !ok || key.Backward != backward {
				continue
			}
			dir := filepath.Join(o.Cache, KindPretrain, lm.ID())
			if m, err := readManifest(dir); err != nil || m == nil {
				return "", "", fmt.Errorf("the %s pretrain stage %s of row %s is not in the cache %s yet: 'ulmfit run %s --only %s' builds it",
					zooDirection(backward), lm.ID(), row, o.Cache, p.Exp.Source, row)
			}
			return dir, p.Exp.Source, nil
		}
	}
	return "", "", &PlanError{fmt.Sprintf("%s: row %s pretrains no %s LM of its own (at scale %s): nothing to add to the zoo",
		p.Exp.Source, row, zooDirection(backward), p.Scale.Name)}
}

func zooDirection(backward bool) string {
	if backward {
		return zoo.Backward
	}
	return zoo.Forward
}
