package zoo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// tinyLM saves a small LM of random weights and its vocabulary into dir,
// as a pretrain stage leaves them (lm.ckpt, vocab.txt).
func tinyLM(t *testing.T, dir string) (ckpt, vocab string) {
	t.Helper()
	tokens := append(text.SpecialTokens(), "the", "a", "question", "answer", "what", "who", "is", "?")
	v, err := text.NewVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := model.NewLM(compute.Default(), model.Config{Vocab: v.Len(), Emb: 8, Hidden: 16, Layers: 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	ckpt, vocab = filepath.Join(dir, "lm.ckpt"), filepath.Join(dir, "vocab.txt")
	if err := model.SaveCheckpoint(ckpt, lm, v.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	if err := v.Save(vocab); err != nil {
		t.Fatal(err)
	}
	return ckpt, vocab
}

func made() Made {
	return Made{Experiment: "experiments/zoo-small.toml", Row: "forward", Stage: "1608fc898b93071b9ec9", GitCommit: "b3894ac",
		Corpus: Corpus{Name: "wikipedia-en", Files: map[string]string{"a.xz": "00ff"}}, Epochs: []Epoch{{ValidCE: 4.5, ValidPerplexity: 90}}}
}

// logits is the LM's logits for a fixed input, in evaluation mode.
func logits(t *testing.T, lm *model.LM) []float32 {
	t.Helper()
	ids := []int32{2, 9, 10, 11, 12, 13, 14, 15, 16, 9, 11}
	out := make([]float32, len(ids)*lm.Config().Vocab)
	if err := lm.Logits(out, ids, len(ids), 1, nil, lm.NewState(1)); err != nil {
		t.Fatal(err)
	}
	return out
}

// An entry gives back the checkpoint it was made from, byte for byte: the
// same model, the same logits.
func TestAddVerifyExtract(t *testing.T) {
	src, z := t.TempDir(), filepath.Join(t.TempDir(), "zoo")
	ckpt, vocab := tinyLM(t, src)
	e, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false)
	if err != nil {
		t.Fatal(err)
	}
	if e.Model.String() != "8/16x3" || e.Model.Vocab != 17 || e.Direction != Forward {
		t.Errorf("manifest: model %s, vocab %d, direction %s; want 8/16x3, 17 words, forward", e.Model, e.Model.Vocab, e.Direction)
	}
	names, err := Names(z)
	if err != nil || !slices.Equal(names, []string{"tiny-wiki-fwd"}) {
		t.Fatalf("Names = %v, %v", names, err)
	}
	opened, err := Open(z, "tiny-wiki-fwd")
	if err != nil {
		t.Fatal(err)
	}
	if opened.Made.Experiment != "experiments/zoo-small.toml" || opened.Made.Epochs[0].ValidPerplexity != 90 {
		t.Errorf("the record of how it was made did not survive: %+v", opened.Made)
	}
	if err := opened.Verify(); err != nil {
		t.Fatal(err)
	}
	if err := opened.VerifyCheckpoint(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "lm.ckpt")
	if err := opened.Extract(out); err != nil {
		t.Fatal(err)
	}
	if a, b := mustRead(t, ckpt), mustRead(t, out); !bytes.Equal(a, b) {
		t.Fatalf("extracted %d bytes differ from the %d of the checkpoint", len(b), len(a))
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(out), "vocab.txt"), mustRead(t, opened.Path(VocabFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	orig, _, err := interop.LoadLM(compute.Default(), ckpt, vocab)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := interop.LoadLM(compute.Default(), out, "")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := logits(t, orig), logits(t, back); !slices.Equal(a, b) {
		t.Errorf("the zoo's LM gives other logits than the checkpoint it was made from")
	}
}

// Every way an entry can be damaged, in either storage, stops its use with
// an *Error naming the file, what the manifest expected and how to get it
// back.
func TestDamagedEntry(t *testing.T) {
	src := t.TempDir()
	ckpt, vocab := tinyLM(t, src)
	cases := []struct {
		name     string
		damage   func(e *Entry)
		file     string // the file the error names
		problem  string // in the problem
		verifies bool   // Verify passes; only decompressing finds it
	}{
		{"checkpoint truncated", func(e *Entry) { truncate(t, e.Path(CheckpointFile), 100) }, CheckpointFile, "(truncated)", false},
		{"checkpoint altered", func(e *Entry) { flip(t, e.Path(CheckpointFile), 200) }, CheckpointFile, "(altered)", false},
		{"checkpoint missing", func(e *Entry) { remove(t, e.Path(CheckpointFile)) }, CheckpointFile, "missing (the manifest lists it", false},
		{"vocabulary grown", func(e *Entry) { appendTo(t, e.Path(VocabFile), "extra\t1\n") }, VocabFile, "(replaced)", false},
		{"vocabulary altered", func(e *Entry) { flip(t, e.Path(VocabFile), 3) }, VocabFile, "(altered)", false},
		{"decompressed digest wrong", func(e *Entry) {
			e.Checkpoint.SHA256 = strings.Repeat("0", 64)
			if err := writeManifest(e.Path(ManifestFile), &e.Manifest); err != nil {
				t.Fatal(err)
			}
		}, CheckpointFile, "decompressed, sha256", true},
	}
	for _, storage := range []Storage{StorageFP32, StorageBF16} {
		for _, c := range cases {
			t.Run(string(storage)+"/"+c.name, func(t *testing.T) {
				z := t.TempDir()
				e, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made(), Storage: storage}, false)
				if err != nil {
					t.Fatal(err)
				}
				c.damage(e)
				e, err = Open(z, "tiny-wiki-fwd")
				if err != nil {
					t.Fatal(err)
				}
				err = e.Verify()
				if c.verifies {
					if err != nil {
						t.Fatalf("Verify: %v; want it to pass (the compressed file is intact)", err)
					}
					err = e.VerifyCheckpoint()
				}
				checkError(t, err, e.Path(c.file), c.problem, storage)
				if c.file != CheckpointFile {
					return
				}
				dst := filepath.Join(t.TempDir(), "lm.ckpt")
				if err := e.Extract(dst); err == nil {
					t.Errorf("Extract of a damaged entry succeeded")
				}
				if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Extract left %s behind: %v", dst, err)
				}
			})
		}
	}
	t.Run("manifest missing", func(t *testing.T) {
		z := t.TempDir()
		e, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false)
		if err != nil {
			t.Fatal(err)
		}
		remove(t, e.Path(ManifestFile))
		_, err = Open(z, "tiny-wiki-fwd")
		checkError(t, err, e.Path(ManifestFile), "missing", StorageFP32)
	})
	t.Run("manifest edited", func(t *testing.T) {
		z := t.TempDir()
		e, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false)
		if err != nil {
			t.Fatal(err)
		}
		e.Direction = Backward // a backward model under a forward name
		if err := writeManifest(e.Path(ManifestFile), &e.Manifest); err != nil {
			t.Fatal(err)
		}
		_, err = Open(z, "tiny-wiki-fwd")
		checkError(t, err, e.Path(ManifestFile), "ends in -bwd", StorageFP32)
	})
	t.Run("entry absent", func(t *testing.T) {
		z := t.TempDir()
		if _, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false); err != nil {
			t.Fatal(err)
		}
		_, err := Open(z, "tiny-wiki-bwd")
		var me *MissingError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "has no entry tiny-wiki-bwd (it holds tiny-wiki-fwd") {
			t.Errorf("Open of an absent entry: %v", err)
		}
	})
}

// checkError checks that err is the *Error of an entry stored in storage
// whose file path has problem.
func checkError(t *testing.T, err error, path, problem string, storage Storage) {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("error %v (%T), want a *zoo.Error", err, err)
	}
	msg := err.Error()
	add := "ulmfit zoo add --experiment experiments/zoo-small.toml --row forward --name tiny-wiki-fwd --force"
	if storage == StorageBF16 {
		add = "ulmfit zoo add --experiment experiments/zoo-small.toml --row forward --name tiny-wiki-fwd --storage bf16 --force"
	}
	// A zoo of the test's own, which git does not track: to be made again,
	// not checked out (TestFixOfTrackedEntry has the project's).
	if strings.Contains(msg, "git checkout") {
		t.Errorf("error %q points at git for a zoo git does not track", msg)
	}
	for _, want := range []string{path, problem, "make it again: ",
		"'ulmfit run experiments/zoo-small.toml --only forward'", add} {
		if problem == "missing" && strings.HasPrefix(want, "'ulmfit run") || problem == "missing" && strings.HasPrefix(want, "ulmfit zoo add") {
			continue // no manifest, no record of how it was made
		}
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if ze.Path != path {
		t.Errorf("error names %s, want %s", ze.Path, path)
	}
	if strings.Contains(problem, "truncated") || strings.Contains(problem, "altered") || strings.Contains(problem, "replaced") {
		if !strings.Contains(msg, "the manifest says") {
			t.Errorf("error %q does not say what the manifest expected", msg)
		}
	}
}

// Add checks what it is given and never leaves half an entry.
func TestAddRefuses(t *testing.T) {
	src, z := t.TempDir(), t.TempDir()
	ckpt, vocab := tinyLM(t, src)
	good := Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}
	otherVocab := filepath.Join(src, "other.txt")
	v, _ := text.NewVocab(append(text.SpecialTokens(), "else"))
	if err := v.Save(otherVocab); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, entry string
		src         Source
		want        string
	}{
		{"forward model, backward name", "tiny-wiki-bwd", good, "ends in -fwd"},
		{"no direction in the name", "tiny-wiki", good, "ends in -fwd"},
		{"bad characters", "Tiny/Wiki-fwd", good, "lower-case letters"},
		{"vocabulary of another model", "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: otherVocab, Direction: Forward}, "is not the vocabulary"},
		{"not a checkpoint", "tiny-wiki-fwd", Source{Checkpoint: vocab, Vocab: vocab, Direction: Forward}, vocab},
	} {
		if _, err := Add(z, c.entry, c.src, false); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Add: %v, want an error with %q", c.name, err, c.want)
		}
	}
	if names, _ := Names(z); len(names) != 0 {
		t.Errorf("failed adds left entries %v", names)
	}
	if _, err := Add(z, "tiny-wiki-fwd", good, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Add(z, "tiny-wiki-fwd", good, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("adding over an entry: %v, want a refusal naming --force", err)
	}
	again := good
	again.Made.Row = "again"
	if _, err := Add(z, "tiny-wiki-fwd", again, true); err != nil {
		t.Fatal(err)
	}
	e, err := Open(z, "tiny-wiki-fwd")
	if err != nil || e.Made.Row != "again" {
		t.Errorf("--force did not replace the entry: %v, %+v", err, e)
	}
	des, _ := os.ReadDir(z)
	if len(des) != 1 {
		var left []string
		for _, d := range des {
			left = append(left, d.Name())
		}
		t.Errorf("the zoo holds %v, want only the entry", left)
	}
}

func TestEntryNames(t *testing.T) {
	for _, c := range []struct {
		model    string
		backward bool
		want     string
	}{
		{"small-wikipedia-en", false, "small-wikipedia-en-fwd"},
		{"small-wikipedia-en", true, "small-wikipedia-en-bwd"},
		{"small-wikipedia-en-fwd", true, "small-wikipedia-en-bwd"},
		{"small-wikipedia-en-bwd", false, "small-wikipedia-en-fwd"},
	} {
		if got := EntryName(c.model, c.backward); got != c.want {
			t.Errorf("EntryName(%q, %v) = %q, want %q", c.model, c.backward, got, c.want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func truncate(t *testing.T, path string, n int64) {
	t.Helper()
	if err := os.Truncate(path, n); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, at int) {
	t.Helper()
	data := mustRead(t, path)
	data[at] ^= 0x20
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// An entry of the project's zoo, which git tracks, can be checked out
// again, and the message says so.
func TestFixOfTrackedEntry(t *testing.T) {
	dir := "small-wikipedia-en-fwd" // this folder is the project's zoo
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil || !trackedByGit(dir) {
		t.Skip("not in the project's git checkout")
	}
	if fix := fixOf(dir, dir, nil); !strings.HasPrefix(fix, "restore the project's copy with 'git checkout -- "+dir+"'") {
		t.Errorf("fix %q", fix)
	}
}
