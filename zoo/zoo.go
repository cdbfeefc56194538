// Package zoo is the project's model zoo: language models that this
// project's own pretrain stages trained, shipped in the repository beside
// this code so that a row can start from one instead of pretraining (issue
// #26). Each entry is a folder named for the model and its direction,
//
//	zoo/small-wikipedia-en-fwd/
//	    lm.ckpt.xz      the pretrain stage's lm.ckpt (model.SaveCheckpoint), xz-compressed,
//	                    its parameters in float32 or rounded to bfloat16 (Storage)
//	    vocab.txt       the vocabulary it was trained with (text.Vocab)
//	    manifest.json   the size and SHA-256 of each file and of the checkpoint
//	                    as Extract writes it, and how the model was made (Made)
//
// A forward model's name ends in -fwd and a backward one's in -bwd, so the
// two directions of one model share a name (Model): an experiment writes
// pretrained = "zoo:small-wikipedia-en" and each chain reads its own.
//
// Nothing reads an entry before Verify has checked its files against the
// manifest, and Extract checks the decompressed checkpoint again as it
// writes it; a file that is missing, truncated or altered is an *Error that
// names it, says what the manifest expected and how to make it again.
package zoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// The files of an entry.
const (
	ManifestFile   = "manifest.json"
	CheckpointFile = "lm.ckpt.xz" // compressed; "xz -dk" opens it as well as Extract
	VocabFile      = "vocab.txt"
	// checkpointName is the checkpoint decompressed, as the manifest and
	// errors name it.
	checkpointName = "lm.ckpt"
)

// Where the zoo is: --zoo, else $ULMFIT_ZOO, else the folder zoo in the
// working directory (the checkout's, where make runs).
const (
	EnvDir     = "ULMFIT_ZOO"
	DefaultDir = "zoo"
)

// Dir is the zoo folder to use: dir when set, else $ULMFIT_ZOO, else
// DefaultDir.
func Dir(dir string) string {
	if dir != "" {
		return dir
	}
	if env := os.Getenv(EnvDir); env != "" {
		return env
	}
	return DefaultDir
}

// The direction suffixes of entry names.
const (
	forwardSuffix  = "-fwd"
	backwardSuffix = "-bwd"
)

// Directions, as manifests write them.
const (
	Forward  = "forward"
	Backward = "backward"
)

// EntryName is the entry of model read in one direction:
// "small-wikipedia-en" backward is "small-wikipedia-en-bwd". A name that
// already ends in a direction names the same model.
func EntryName(model string, backward bool) string {
	model = Model(model)
	if backward {
		return model + backwardSuffix
	}
	return model + forwardSuffix
}

// Model is the model an entry name belongs to, without its direction.
func Model(name string) string {
	for _, s := range []string{forwardSuffix, backwardSuffix} {
		if m, ok := strings.CutSuffix(name, s); ok {
			return m
		}
	}
	return name
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// checkName reports an entry name that cannot be one: a folder name of
// lower-case letters, digits, dots and dashes, ending in the direction of
// the model it holds.
func checkName(name, direction string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("entry name %q: want lower-case letters, digits, '.', '-' and '_', starting with a letter or digit", name)
	}
	want := forwardSuffix
	if direction == Backward {
		want = backwardSuffix
	}
	if !strings.HasSuffix(name, want) || len(name) == len(want) {
		return fmt.Errorf("entry name %q: a %s model's name ends in %s (e.g. %s), so that zoo:%s finds it for a %s chain",
			name, direction, want, EntryName(Model(name), direction == Backward), Model(name), direction)
	}
	return nil
}

// Storage is how an entry stores its checkpoint's parameters.
type Storage string

// Storages. A manifest without "storage" is StorageFP32, as are those
// written before bfloat16 storage.
const (
	// StorageFP32 stores the pretrain stage's checkpoint as it is:
	// lm.ckpt.xz decompresses to it, byte for byte.
	StorageFP32 Storage = "fp32"
	// StorageBF16 stores it with every parameter rounded to bfloat16,
	// nearest even (model.NarrowCheckpoint), in half the bytes: the small
	// scale's 5.36 MB checkpoint compresses to 1.9 MB instead of 4.6 MB.
	// lm.ckpt.xz decompresses to a bfloat16 checkpoint, which Extract
	// widens to float32 exactly (model.WidenCheckpoint), so every reader
	// of an entry reads an LM checkpoint as before, of the rounded model.
	StorageBF16 Storage = "bf16"
)

// ParseStorage reads a storage as a manifest or 'ulmfit zoo add --storage'
// names it; "" is StorageFP32.
func ParseStorage(s string) (Storage, error) {
	switch st := Storage(s); st {
	case "":
		return StorageFP32, nil
	case StorageFP32, StorageBF16:
		return st, nil
	}
	return "", fmt.Errorf("storage %q: want %q (the default) or %q", s, StorageFP32, StorageBF16)
}

// Manifest is an entry's manifest.json.
type Manifest struct {
	Name      string `json:"name"`
	Direction string `json:"direction"` // Forward or Backward: the text order the LM was trained on
	Model     Shape  `json:"model"`
	// Storage is how lm.ckpt.xz holds the parameters; "" is StorageFP32.
	Storage Storage `json:"storage,omitempty"`
	// Files are the entry's files, CheckpointFile and VocabFile, by name.
	Files map[string]FileSum `json:"files"`
	// Checkpoint is the LM checkpoint as Extract writes it: the pretrain
	// stage's lm.ckpt byte for byte (fp32), or that checkpoint with its
	// parameters rounded to bfloat16 and widened again (bf16). Its digest
	// is what the zoo stage's key and records hold as the model's.
	Checkpoint FileSum `json:"checkpoint"`
	// RoundedFrom is, for bf16, the float32 checkpoint the parameters were
	// rounded from (the pretrain stage's lm.ckpt, the Checkpoint of the
	// fp32 entry it replaced).
	RoundedFrom *FileSum `json:"rounded_from,omitempty"`
	Made        Made     `json:"made"`
	// Added is when 'ulmfit zoo add' wrote the entry.
	Added time.Time `json:"added"`
}

// FileSum is a file's size and SHA-256 (hex).
type FileSum struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Shape is the model's size: the AWD-LSTM's embedding, hidden size and
// layers (model.Config) and its vocabulary.
type Shape struct {
	Emb       int    `json:"emb"`
	Hidden    int    `json:"hidden"`
	Layers    int    `json:"layers"`
	Vocab     int    `json:"vocab"`
	VocabHash string `json:"vocab_hash"` // text.Vocab.Hash of vocab.txt, as the checkpoint records it
}

// String writes the shape as plans do: "64/192x3".
func (s Shape) String() string { return fmt.Sprintf("%d/%dx%d", s.Emb, s.Hidden, s.Layers) }

// Made is how an entry's model was made, taken from the pretrain stage
// that trained it and that stage's corpus stage.
type Made struct {
	// Experiment and Row are the experiment file and row whose pretrain
	// stage it was, as 'zoo add' was told; empty when it was not.
	Experiment string `json:"experiment,omitempty"`
	Row        string `json:"row,omitempty"`
	Stage      string `json:"stage"` // the pretrain stage's ID
	Code       string `json:"code"`  // the pretrain kind's code version
	GitCommit  string `json:"git_commit"`
	GitDirty   bool   `json:"git_dirty,omitempty"`
	Engine     string `json:"engine"`
	// Machine is the machine that trained it, with its GPU (the card) when
	// one did.
	Machine     string    `json:"machine"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	WallSeconds float64   `json:"wall_seconds"`
	TokensPerS  float64   `json:"tokens_per_s"`
	Corpus      Corpus    `json:"corpus"`
	Epochs      []Epoch   `json:"epochs"`
	// Key is the pretrain stage's key as its manifest holds it: the
	// model's configuration (dropouts, AR/TAR), batch, BPTT, rate
	// schedule, Adam, epochs, seed and direction.
	Key json.RawMessage `json:"key"`
}

// Corpus is the text the model was pretrained on.
type Corpus struct {
	Name  string `json:"name"`  // the dataset: "wikipedia-en"
	Stage string `json:"stage"` // the corpus stage's ID
	// Files are the SHA-256 of every file of the dataset the corpus stage
	// read, by path in its folder.
	Files       map[string]string `json:"files"`
	TrainDocs   int               `json:"train_docs"`
	TrainTokens int64             `json:"train_tokens"`
	ValidDocs   int               `json:"valid_docs"`
	ValidTokens int64             `json:"valid_tokens"`
	// Key is the corpus stage's key: token caps, vocabulary cap, seed and
	// tokeniser.
	Key json.RawMessage `json:"key"`
}

// Epoch is one epoch of pretraining: mean cross-entropy (nats per token)
// on the training and validation text, and its perplexities.
type Epoch struct {
	TrainCE         float64 `json:"train_ce"`
	ValidCE         float64 `json:"valid_ce"`
	TrainPerplexity float64 `json:"train_perplexity"`
	ValidPerplexity float64 `json:"valid_perplexity"`
	Tokens          int     `json:"tokens"`
	Seconds         float64 `json:"seconds"`
}

// Entry is an entry found in a zoo folder; its files are not yet checked
// (Verify).
type Entry struct {
	Dir string // the entry's folder
	Manifest
}

// Path is the path of one of the entry's files (CheckpointFile, VocabFile).
func (e *Entry) Path(file string) string { return filepath.Join(e.Dir, file) }

// Backward reports whether the entry is a backward LM.
func (e *Entry) Backward() bool { return e.Direction == Backward }

// Stored is how the entry stores its parameters: its manifest's Storage,
// StorageFP32 where it names none.
func (m *Manifest) Stored() Storage {
	if m.Storage == "" {
		return StorageFP32
	}
	return m.Storage
}

// Open reads the manifest of the entry name in the zoo folder dir. An
// entry that is not there is a *MissingError listing the ones that are.
func Open(dir, name string) (*Entry, error) {
	entryDir := filepath.Join(dir, name)
	data, err := os.ReadFile(filepath.Join(entryDir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		if st, serr := os.Stat(entryDir); serr == nil && st.IsDir() {
			return nil, &Error{Entry: name, Path: filepath.Join(entryDir, ManifestFile), Problem: "missing", Fix: fixOf(name, entryDir, nil)}
		}
		names, _ := Names(dir)
		return nil, &MissingError{Dir: dir, Name: name, Have: names}
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &Error{Entry: name, Path: filepath.Join(entryDir, ManifestFile), Problem: fmt.Sprintf("does not read (%v)", err), Fix: fixOf(name, entryDir, nil)}
	}
	e := &Entry{Dir: entryDir, Manifest: m}
	if err := e.checkManifest(name); err != nil {
		return nil, &Error{Entry: name, Path: filepath.Join(entryDir, ManifestFile), Problem: err.Error(), Fix: fixOf(name, entryDir, &m)}
	}
	return e, nil
}

// checkManifest reports a manifest that cannot describe the entry name.
func (e *Entry) checkManifest(name string) error {
	m := &e.Manifest
	switch {
	case m.Name != name:
		return fmt.Errorf("it names the entry %q, but is in the folder %s", m.Name, name)
	case m.Direction != Forward && m.Direction != Backward:
		return fmt.Errorf("direction %q: want %q or %q", m.Direction, Forward, Backward)
	case m.Checkpoint.SHA256 == "" || m.Checkpoint.Bytes <= 0:
		return fmt.Errorf("it gives no size and SHA-256 of the checkpoint decompressed (\"checkpoint\")")
	case m.Model.Emb < 1 || m.Model.Layers < 1 || m.Model.Vocab < 1:
		return fmt.Errorf("model %s with %d words: want a model's emb, hidden, layers and vocab", m.Model, m.Model.Vocab)
	}
	if _, err := ParseStorage(string(m.Storage)); err != nil {
		return err
	}
	for _, f := range []string{CheckpointFile, VocabFile} {
		if s, ok := m.Files[f]; !ok || s.SHA256 == "" {
			return fmt.Errorf("files lists no size and SHA-256 for %s", f)
		}
	}
	return checkName(name, m.Direction)
}

// Names lists the entries of the zoo folder dir: its subfolders holding a
// manifest, sorted. A folder that does not exist holds none.
func Names(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, de.Name(), ManifestFile)); err == nil {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// List opens every entry of the zoo folder dir, sorted by name.
func List(dir string) ([]*Entry, error) {
	names, err := Names(dir)
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, n := range names {
		e, err := Open(dir, n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// MissingError is an entry the zoo folder does not hold.
type MissingError struct {
	Dir, Name string
	Have      []string
}

func (e *MissingError) Error() string {
	have := "it holds none"
	if len(e.Have) > 0 {
		have = "it holds " + strings.Join(e.Have, ", ")
	}
	return fmt.Sprintf("the model zoo in %s has no entry %s (%s; $%s names another zoo folder, 'ulmfit zoo add' adds an entry)",
		e.Dir, e.Name, have, EnvDir)
}

// Error is an entry that must not be used: one of its files is missing,
// truncated or altered, or its manifest does not read.
type Error struct {
	Entry   string // the entry's name
	Path    string // the file at fault
	Problem string // what is wrong with it, and what the manifest expected
	Fix     string // how to get it back
}

func (e *Error) Error() string {
	return fmt.Sprintf("model zoo entry %s: %s: %s; %s", e.Entry, e.Path, e.Problem, e.Fix)
}

// fixOf says how to get entry name back: from the repository, or by
// pretraining it again as its manifest m (nil when unreadable) says it was
// made.
func fixOf(name, dir string, m *Manifest) string {
	storage := ""
	if m != nil && m.Stored() == StorageBF16 {
		storage = " --storage " + string(m.Stored())
	}
	again := fmt.Sprintf("'ulmfit zoo add --stage CACHE/pretrain/ID --name %s%s --force' from the pretrain stage that made it", name, storage)
	if m != nil && m.Made.Experiment != "" && m.Made.Row != "" {
		again = fmt.Sprintf("'ulmfit run %s --only %s' pretrains it again (add --device cuda on a GPU), then "+
			"'ulmfit zoo add --experiment %s --row %s --name %s%s --force' adds it",
			m.Made.Experiment, m.Made.Row, m.Made.Experiment, m.Made.Row, name, storage)
	}
	if !trackedByGit(dir) {
		return "make it again: " + again
	}
	return fmt.Sprintf("restore the project's copy with 'git checkout -- %s', or make it again: %s", dir, again)
}

// trackedByGit says whether git tracks files under dir (the project's
// zoo), so that 'git checkout' can restore them; false for a zoo of one's
// own, or where git cannot tell.
func trackedByGit(dir string) bool {
	out, err := exec.Command("git", "-C", filepath.Dir(dir), "ls-files", "--", filepath.Base(dir)).Output()
	return err == nil && strings.TrimSpace(string(out)) != ""
}

// writeManifest writes m as an entry's manifest: indented, so that a
// reader (and git) sees it line by line.
func writeManifest(path string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o644)
}
