package zoo

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/ulikunitz/xz"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/model"
)

// Verify checks that every file the manifest lists is there with its size
// and SHA-256. It reads the files once (a few MB) and decompresses
// nothing: the compressed checkpoint's digest fixes what it decompresses
// to, which Extract and VerifyCheckpoint check.
func (e *Entry) Verify() error {
	for _, f := range slices.Sorted(maps.Keys(e.Files)) {
		want := e.Files[f]
		path := e.Path(f)
		got, err := sumFile(path)
		if err != nil {
			return e.fault(path, err)
		}
		if p := mismatch(got, want, "the manifest says"); p != "" {
			return &Error{Entry: e.Name, Path: path, Problem: p, Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
		}
	}
	return nil
}

// VerifyCheckpoint decompresses the checkpoint, checking it against the
// manifest, without writing it anywhere.
func (e *Entry) VerifyCheckpoint() error {
	return e.decompress(io.Discard)
}

// Extract writes the LM checkpoint to dst: decompressed, and widened to
// float32 when the entry stores bfloat16 (atomically: nothing is left at
// dst unless both the compressed file and the checkpoint have the
// manifest's size and SHA-256).
func (e *Entry) Extract(dst string) error {
	return atomicfile.Write(dst, 0o644, e.decompress)
}

// decompress writes the LM checkpoint to w, checking the compressed file's
// digest as it reads it and the checkpoint's as it writes it.
func (e *Entry) decompress(w io.Writer) error {
	path := e.Path(CheckpointFile)
	packed, plain, err := e.unpack(w)
	if err != nil {
		return err
	}
	if p := mismatch(packed, e.Files[CheckpointFile], "the manifest says"); p != "" {
		return &Error{Entry: e.Name, Path: path, Problem: p, Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
	}
	if p := mismatch(plain, e.Checkpoint, "the manifest says"); p != "" {
		return &Error{Entry: e.Name, Path: path, Problem: "decompressed, " + p, Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
	}
	return nil
}

// unpack writes the LM checkpoint to w, decompressed and, for bf16,
// widened (model.WidenCheckpoint), and returns the size and SHA-256 of the
// compressed file it read and of the checkpoint it wrote, checking neither.
func (e *Entry) unpack(w io.Writer) (packed, plain FileSum, err error) {
	path := e.Path(CheckpointFile)
	f, err := os.Open(path)
	if err != nil {
		return packed, plain, e.fault(path, err)
	}
	defer f.Close()
	in := newCounter()
	xr, err := xz.NewReader(bufio.NewReaderSize(io.TeeReader(f, in), 1<<20))
	if err != nil {
		return packed, plain, &Error{Entry: e.Name, Path: path, Problem: fmt.Sprintf("not an xz file (%v)", err), Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
	}
	out := newCounter()
	dst := io.MultiWriter(taggedWriter{w}, out)
	problem := "does not decompress (%v): truncated or altered"
	if e.Stored() == StorageBF16 {
		err = model.WidenCheckpoint(dst, xr, path)
		problem = "does not decompress to a bfloat16 checkpoint (%v): truncated, altered, or not stored as the manifest's storage says"
	} else {
		_, err = io.Copy(dst, xr)
	}
	if err != nil {
		var we writeError
		if errors.As(err, &we) {
			return packed, plain, we.err
		}
		return packed, plain, &Error{Entry: e.Name, Path: path, Problem: fmt.Sprintf(problem, err), Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
	}
	// The xz reader may stop at the end of its stream before the file's
	// end; what follows still counts towards the compressed digest.
	if _, err := io.Copy(io.Discard, io.TeeReader(f, in)); err != nil {
		return packed, plain, e.fault(path, err)
	}
	return in.sum(), out.sum(), nil
}

// writeError marks a failure of the writer decompress writes to, which is
// no fault of the entry.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// taggedWriter marks its writer's errors as writeErrors.
type taggedWriter struct{ w io.Writer }

func (t taggedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = writeError{err}
	}
	return n, err
}

// fault is an entry file that cannot be read: missing, most often.
func (e *Entry) fault(path string, err error) error {
	problem := err.Error()
	if errors.Is(err, fs.ErrNotExist) {
		want := e.Files[filepath.Base(path)]
		problem = fmt.Sprintf("missing (the manifest lists it: %s bytes, sha256 %s)", english.Count(want.Bytes), want.SHA256)
	}
	return &Error{Entry: e.Name, Path: path, Problem: problem, Fix: fixOf(e.Name, e.Dir, &e.Manifest)}
}

// mismatch says how got differs from want ("" when it does not): a size
// that differs is truncation or replacement, a digest alone alteration.
func mismatch(got, want FileSum, says string) string {
	switch {
	case got.Bytes != want.Bytes:
		how := "replaced"
		if got.Bytes < want.Bytes {
			how = "truncated"
		}
		return fmt.Sprintf("%s bytes with sha256 %s, %s %s bytes with sha256 %s (%s)", english.Count(got.Bytes), got.SHA256, says, english.Count(want.Bytes), want.SHA256, how)
	case got.SHA256 != want.SHA256:
		return fmt.Sprintf("sha256 %s, %s %s (altered)", got.SHA256, says, want.SHA256)
	}
	return ""
}

// counter hashes and counts what is written to it.
type counter struct {
	h hash.Hash
	n int64
}

func newCounter() *counter { return &counter{h: sha256.New()} }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *counter) sum() FileSum { return FileSum{Bytes: c.n, SHA256: hex.EncodeToString(c.h.Sum(nil))} }

// sumFile is a file's size and SHA-256.
func sumFile(path string) (FileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileSum{}, err
	}
	defer f.Close()
	c := newCounter()
	if _, err := io.Copy(c, f); err != nil {
		return FileSum{}, fmt.Errorf("%s: %w", path, err)
	}
	return c.sum(), nil
}
