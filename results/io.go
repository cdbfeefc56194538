package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Ext is the extension of record files; ReadDir reads only these.
const Ext = ".jsonl"

// maxLine bounds one record's line. Records carry their resolved config and
// per-epoch curves (an LR schedule has one value per optimiser step), so a
// line can be long; 64 MiB is far beyond any record the runner writes.
const maxLine = 64 << 20

// required names the fields every record must have, in the order a message
// lists them.
var required = []string{"experiment", "row", "dataset", "metric", "value", "source"}

// LineError is a record file line that is not a valid record.
type LineError struct {
	File string
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ReadFile reads a JSON Lines record file. Blank lines are skipped. A line
// that is not a JSON object, names an unknown field, or lacks a required
// field (experiment, row, dataset, metric, value, source) is a *LineError
// naming the file and line. Each record's Origin is set to "file:line".
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, path)
}

// Decode reads records in JSON Lines from r; name is the file name used in
// errors and in each record's Origin.
func Decode(r io.Reader, name string) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var recs []Record
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		rec, err := decodeLine(text)
		if err != nil {
			return nil, &LineError{File: name, Line: line, Err: err}
		}
		rec.Origin = fmt.Sprintf("%s:%d", name, line)
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: a line is longer than %d MiB: %w", name, maxLine>>20, err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return recs, nil
}

func decodeLine(text []byte) (Record, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(text, &keys); err != nil {
		return Record{}, fmt.Errorf("not a JSON object: %v", err)
	}
	var missing []string
	for _, k := range required {
		if v, ok := keys[k]; !ok || string(v) == "null" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Record{}, fmt.Errorf("missing required field %s", strings.Join(quoteAll(missing), ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	var rec Record
	if err := dec.Decode(&rec); err != nil {
		// encoding/json says `json: unknown field "x"`; the key is what a
		// user needs, so keep its message.
		return Record{}, fmt.Errorf("%v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := rec.Check(); err != nil {
		return Record{}, err
	}
	return rec, nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Check reports a record that could not be read back or placed in a table:
// an empty required string field or a value that is not a finite number.
func (r Record) Check() error {
	var empty []string
	for _, f := range []struct{ name, v string }{
		{"experiment", r.Experiment}, {"row", r.Row}, {"dataset", r.Dataset},
		{"metric", r.Metric}, {"source", r.Source},
	} {
		if strings.TrimSpace(f.v) == "" {
			empty = append(empty, f.name)
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("empty required field %s", strings.Join(quoteAll(empty), ", "))
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return fmt.Errorf("value %v is not a finite number", r.Value)
	}
	for name, series := range r.Curves {
		for i, v := range series {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("curve %q[%d] = %v is not a finite number (JSON cannot hold it)", name, i, v)
			}
		}
	}
	for name, v := range r.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metric %q = %v is not a finite number (JSON cannot hold it)", name, v)
		}
	}
	if r.Split != "" && !knownSplits[r.Split] {
		return fmt.Errorf("split %q is not one of train, validation, test", r.Split)
	}
	if r.TrainSize < 0 {
		return fmt.Errorf("train_size %d is negative", r.TrainSize)
	}
	return nil
}

var knownSplits = map[string]bool{"train": true, "validation": true, "test": true}

// ReadDir reads every *.jsonl file under dir, recursively, in lexical path
// order. Hidden files and folders (a leading dot: WriteFile's temporary
// files among them) are skipped.
func ReadDir(dir string) ([]Record, error) {
	files, err := FilesUnder(dir, Ext)
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, f := range files {
		recs, err := ReadFile(f)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
	}
	return all, nil
}

// Read reads path as a record file, or as a directory of them.
func Read(path string) ([]Record, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return ReadDir(path)
	}
	return ReadFile(path)
}

// FilesUnder lists, sorted, the files below dir whose names end in
// suffix, as ReadDir finds record files: hidden files and folders (a
// leading '.') left out.
func FilesUnder(dir, suffix string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), suffix) {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// encode writes each record as one line of JSON.
func encode(recs []Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, r.Cell(), err)
		}
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("record %d (%s): %w", i, r.Cell(), err)
		}
	}
	return buf.Bytes(), nil
}

// Append adds records to the JSON Lines file at path, creating it (and its
// folder) if needed. All lines are written in one write under an exclusive
// lock (flock) and synced before the lock is released, so concurrent
// runners never interleave partial lines. If the file does not end in a
// newline (a writer died mid-line), a newline is written first: the torn
// line stays a malformed line that ReadFile reports, instead of swallowing
// the first new record.
func Append(path string, recs ...Record) error {
	data, err := encode(recs)
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if len(data) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := openLocked(path, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return err
	}
	defer f.Close() // closing releases the lock
	if torn, err := endsMidLine(f); err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	} else if torn {
		data = append([]byte{'\n'}, data...)
	}
	if err := appendData(f, f, data); err != nil {
		return fmt.Errorf("append to %s: %w", path, err)
	}
	return f.Close()
}

// appendData writes data through w to the end of f, which the caller holds
// locked, and syncs it. A write that fails part-way (a full disk, a file
// size limit) would leave a torn line; f is cut back to the size it had,
// so the file holds its earlier records and nothing of these.
func appendData(f *os.File, w io.Writer, data []byte) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		if terr := f.Truncate(fi.Size()); terr != nil {
			return fmt.Errorf("%w; cutting the partly written records off failed too: %v (remove the last line by hand)", err, terr)
		}
		f.Sync()
		return fmt.Errorf("%w (nothing was added: the file was cut back to its %d bytes)", err, fi.Size())
	}
	return f.Sync()
}

// openLocked opens path and takes an exclusive lock on it. WriteFile
// replaces the file by renaming, so after waiting for the lock the file
// may no longer be the one at path; then it opens the new one.
func openLocked(path string, flag int) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, flag, 0o644)
		if err != nil {
			return nil, err
		}
		if err := flock(f, syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, err2
		}
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func endsMidLine(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// WriteFile replaces the file at path with recs, atomically: the records go
// to a temporary file in the same folder, which is synced and renamed over
// path, and the folder is synced. A reader sees the old file or the new
// one, never a mix. While it works it holds the lock that Append takes on
// the old file, so an Append waits and then writes into the new file.
func WriteFile(path string, recs []Record) error {
	data, err := encode(recs)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if old, err := openLocked(path, os.O_RDONLY); err == nil {
		defer old.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this finds nothing
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
