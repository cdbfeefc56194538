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

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// Source is what an entry is made from: a finished pretrain stage's
// checkpoint and vocabulary, the direction it read its text in, and the
// record of how it was made; and how the entry is to store it.
type Source struct {
	Checkpoint string // an LM checkpoint (model.SaveCheckpoint), without optimiser state
	Vocab      string // its vocabulary (text.Vocab)
	Direction  string // Forward or Backward
	Made       Made
	Storage    Storage // "" is StorageFP32
}

// Source is what Add stores entry e again from (in another storage, or
// elsewhere): its checkpoint, checked and extracted into the folder work
// (which the caller removes once Add returns), its vocabulary and the
// record of how it was made.
func (e *Entry) Source(work string) (Source, error) {
	if err := e.Verify(); err != nil {
		return Source{}, err
	}
	ckpt := filepath.Join(work, checkpointName)
	if err := e.Extract(ckpt); err != nil {
		return Source{}, err
	}
	return Source{Checkpoint: ckpt, Vocab: e.Path(VocabFile), Direction: e.Direction, Made: e.Made, Storage: e.Stored()}, nil
}

// compression is how checkpoints are compressed: LZMA2 with literals
// coded by their position in a 4-byte word (lc=0, lp=2, pb=2, as xz's
// preset for aligned binary data), since a checkpoint is mostly
// little-endian float32s whose bytes differ in kind by position: the
// small scale's 5.36 MB LM becomes 4.54 MB, where the default literal
// coding gives 4.92 MB; stored in bfloat16 (2.68 MB, two numbers a
// 4-byte word) it becomes 1.90 MB (xz's own encoder, 1.83 MB). The
// digests, not these settings, are what an entry promises, so another
// setting later changes nothing that reads entries.
var compression = xz.WriterConfig{
	Properties: &lzma.Properties{LC: 0, LP: 2, PB: 2},
	DictCap:    16 << 20,
	CheckSum:   xz.SHA256,
}

// Add makes the entry name in the zoo folder dir from src: the checkpoint
// compressed (its parameters rounded to bfloat16 first for StorageBF16),
// the vocabulary, and the manifest. The checkpoint must load with the
// vocabulary (the hash it was saved with) and the name must end in the
// direction's suffix. An entry already there is an error unless
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
	storage, err := ParseStorage(string(src.Storage))
	if err != nil {
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

	m := Manifest{Name: name, Direction: src.Direction, Storage: storage, Made: src.Made, Files: map[string]FileSum{},
		Model: Shape{Emb: ck.Config.Emb, Hidden: ck.Config.Hidden, Layers: ck.Config.Layers, Vocab: vocab.Len(), VocabHash: vocab.Hash()},
		Added: time.Now().UTC().Truncate(time.Second)}
	if storage == StorageBF16 {
		if m.Checkpoint, m.RoundedFrom, err = compressBF16(src.Checkpoint, tmp, ck, &m); err != nil {
			return nil, err
		}
	} else if m.Checkpoint, err = compress(src.Checkpoint, filepath.Join(tmp, CheckpointFile)); err != nil {
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
	err = writeXZ(dst, func(w io.Writer) error {
		if _, err := io.Copy(w, io.TeeReader(f, plain)); err != nil {
			return fmt.Errorf("compressing %s: %w", src, err)
		}
		return nil
	})
	return plain.sum(), err
}

// compressBF16 writes the checkpoint src, read as ck, with its parameters
// rounded to bfloat16 and xz-compressed, as the CheckpointFile of the
// entry folder tmp whose manifest m will be. It returns the checkpoint the
// entry gives back, widened again, which it checks holds every parameter
// of ck rounded to the nearest bfloat16, and src's size and SHA-256.
func compressBF16(src, tmp string, ck *model.Checkpoint, m *Manifest) (widened FileSum, from *FileSum, err error) {
	rounded, err := sumFile(src)
	if err != nil {
		return FileSum{}, nil, err
	}
	err = writeXZ(filepath.Join(tmp, CheckpointFile), func(w io.Writer) error {
		return model.NarrowCheckpoint(w, src)
	})
	if err != nil {
		return FileSum{}, nil, err
	}
	check := filepath.Join(tmp, checkpointName)
	defer os.Remove(check)
	err = atomicfile.Write(check, 0o644, func(w io.Writer) error {
		_, widened, err = (&Entry{Dir: tmp, Manifest: *m}).unpack(w)
		return err
	})
	if err != nil {
		return FileSum{}, nil, err
	}
	back, err := model.ReadCheckpoint(check)
	if err != nil {
		return FileSum{}, nil, err
	}
	if len(back.Flat) != len(ck.Flat) {
		return FileSum{}, nil, fmt.Errorf("storing %s in bfloat16: %d parameters widened back, want %d", src, len(back.Flat), len(ck.Flat))
	}
	for i, x := range ck.Flat {
		if want := compute.FromBF16(compute.ToBF16(x)); back.Flat[i] != want {
			return FileSum{}, nil, fmt.Errorf("storing %s in bfloat16: parameter %d is %v, widened back %v, want %v", src, i, x, back.Flat[i], want)
		}
	}
	return widened, &rounded, nil
}

// writeXZ writes dst atomically, what write writes xz-compressed.
func writeXZ(dst string, write func(io.Writer) error) error {
	return atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		xw, err := compression.NewWriter(w)
		if err != nil {
			return err
		}
		if err := write(xw); err != nil {
			return err
		}
		return xw.Close()
	})
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
