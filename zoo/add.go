package zoo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// Source is what an entry is made from: a finished pretrain stage's
// checkpoint and vocabulary, the direction it read its text in, and the
// record of how it was made.
type Source struct {
	Checkpoint string // an LM checkpoint (model.SaveCheckpoint), without optimiser state
	Vocab      string // its vocabulary (text.Vocab)
	Direction  string // Forward or Backward
	Made       Made
}

// compression is how checkpoints are compressed: LZMA2 with literals
// coded by their position in a 4-byte word (lc=0, lp=2, pb=2, as xz's
// preset for aligned binary data), since a checkpoint is mostly
// little-endian float32s whose bytes differ in kind by position: the
// small scale's 5.36 MB LM becomes 4.54 MB, where the default literal
// coding gives 4.92 MB. The digests, not these settings, are what an entry
// promises, so another setting later changes nothing that reads entries.
var compression = xz.WriterConfig{
	Properties: &lzma.Properties{LC: 0, LP: 2, PB: 2},
	DictCap:    16 << 20,
	CheckSum:   xz.SHA256,
}

// Add makes the entry name in the zoo folder dir from src: the checkpoint
// compressed, the vocabulary, and the manifest. The checkpoint must load
// with the vocabulary (the hash it was saved with) and the name must end
// in the direction's suffix. An entry already there is an error unless
// force, which replaces it whole. The entry is written beside its place
// and renamed into it once verified, so a failed Add leaves the zoo as it
// was.
func Add(dir, name string, src Source, force bool) (*Entry, error) {
	if src.Direction != Forward && src.Direction != Backward {
		return nil, fmt.Errorf("direction %q: want %q or %q", src.Direction, Forward, Backward)
	}
	if err := checkName(name, src.Direction); err != nil {
		return nil, err
	}
	ck, err := model.ReadCheckpoint(src.Checkpoint)
	if err != nil {
		return nil, err
	}
	vocab, err := text.LoadVocab(src.Vocab)
	if err != nil {
		return nil, err
	}
	if vocab.Hash() != ck.VocabHash || vocab.Len() != ck.Config.Vocab {
		return nil, fmt.Errorf("%s (%d words, hash %s) is not the vocabulary %s was trained with (%d words, hash %s)",
			src.Vocab, vocab.Len(), vocab.Hash(), src.Checkpoint, ck.Config.Vocab, ck.VocabHash)
	}
	final := filepath.Join(dir, name)
	if _, err := os.Stat(final); err == nil && !force {
		return nil, fmt.Errorf("%s is already in the zoo: use --force to replace it", final)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, "."+name+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}

	m := Manifest{Name: name, Direction: src.Direction, Made: src.Made, Files: map[string]FileSum{},
		Model: Shape{Emb: ck.Config.Emb, Hidden: ck.Config.Hidden, Layers: ck.Config.Layers, Vocab: vocab.Len(), VocabHash: vocab.Hash()},
		Added: time.Now().UTC().Truncate(time.Second)}
	if m.Checkpoint, err = compress(src.Checkpoint, filepath.Join(tmp, CheckpointFile)); err != nil {
		return nil, err
	}
	if err := copyFile(src.Vocab, filepath.Join(tmp, VocabFile)); err != nil {
		return nil, err
	}
	for _, f := range []string{CheckpointFile, VocabFile} {
		if m.Files[f], err = sumFile(filepath.Join(tmp, f)); err != nil {
			return nil, err
		}
	}
	if err := writeManifest(filepath.Join(tmp, ManifestFile), &m); err != nil {
		return nil, err
	}
	staged := &Entry{Dir: tmp, Manifest: m}
	if err := staged.Verify(); err != nil {
		return nil, err
	}
	if err := staged.VerifyCheckpoint(); err != nil {
		return nil, fmt.Errorf("the compressed checkpoint does not give back %s: %w", src.Checkpoint, err)
	}
	if err := replaceDir(tmp, final); err != nil {
		return nil, err
	}
	return &Entry{Dir: final, Manifest: m}, nil
}

// compress writes src xz-compressed to dst and returns src's size and
// SHA-256.
func compress(src, dst string) (FileSum, error) {
	f, err := os.Open(src)
	if err != nil {
		return FileSum{}, err
	}
	defer f.Close()
	plain := newCounter()
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		xw, err := compression.NewWriter(w)
		if err != nil {
			return err
		}
		if _, err := io.Copy(xw, io.TeeReader(f, plain)); err != nil {
			return fmt.Errorf("compressing %s: %w", src, err)
		}
		return xw.Close()
	})
	return plain.sum(), err
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// replaceDir renames the folder tmp to final, moving an entry already at
// final aside first and removing it once the new one is in place.
func replaceDir(tmp, final string) error {
	old := final + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	err := os.Rename(final, old)
	had := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		if had {
			os.Rename(old, final)
		}
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(final)); err != nil {
		return err
	}
	return os.RemoveAll(old)
}
