package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// A checkpoint file is
//
//	magic    8 bytes  "ULMFITLM"
//	version  uint32   checkpointVersion
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON: config, vocabulary hash, tensor names and
//	         shapes, float count, optimiser state (config, steps) if saved
//	payload  the flat parameters, then Adam's m and v if saved, as
//	         little-endian float32
//	crc      uint32   CRC-32C (Castagnoli) of the payload
//
// all integers little-endian. Files are written to a temporary name in the
// same directory, synced and renamed, so a crash never leaves half a file
// under the real name.

const (
	checkpointMagic   = "ULMFITLM"
	checkpointVersion = 1
	maxHeaderBytes    = 1 << 24
	// ioChunkFloats is how many floats go through the host per copy, so
	// saving and loading never hold a second copy of the model in memory.
	ioChunkFloats = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type checkpointHeader struct {
	Config    Config           `json:"config"`
	VocabHash string           `json:"vocab_hash"`
	Tensors   []tensorInfo     `json:"tensors"`
	Floats    int              `json:"floats"`
	Optimizer *optimizerHeader `json:"optimizer,omitempty"`
}

type tensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

type optimizerHeader struct {
	Config AdamConfig `json:"config"`
	Steps  []int      `json:"steps"`
}

// SaveCheckpoint writes m's parameters to path, with the caller's hash of
// the vocabulary they were trained on, and opt's state when opt is not nil
// (for resuming training).
func SaveCheckpoint(path string, m *LM, vocabHash string, opt *Adam) error {
	p := m.Params
	h := checkpointHeader{Config: p.cfg, VocabHash: vocabHash, Floats: p.Len()}
	for i, name := range p.names {
		h.Tensors = append(h.Tensors, tensorInfo{Name: name, Shape: p.shapes[i]})
	}
	payload := []compute.Vec{p.flat}
	if opt != nil {
		if opt.params != p {
			return fmt.Errorf("model: save checkpoint %s: the optimiser belongs to another model", path)
		}
		h.Optimizer = &optimizerHeader{Config: opt.Config, Steps: opt.Steps()}
		payload = append(payload, opt.m, opt.v)
	}
	header, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("model: save checkpoint %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		return writeFramed(w, checkpointMagic, checkpointVersion, header, p.be, payload)
	})
}

// writeAtomic writes a file through atomicfile.Write: a crash mid-write
// leaves the previous checkpoint whole.
func writeAtomic(path string, write func(io.Writer) error) error {
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		if err := write(w); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

// checkpointFile is an open checkpoint whose header has been read and checked.
type checkpointFile struct {
	path    string
	f       *os.File
	header  checkpointHeader
	payload int64 // offset of the payload
	floats  int   // floats in the payload
}

func openCheckpoint(path string) (*checkpointFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint: %w", err)
	}
	c, err := readCheckpointHeader(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func readCheckpointHeader(path string, f *os.File) (*checkpointFile, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: checkpoint %s: "+format, append([]any{path}, args...)...)
	}
	raw, err := readPreamble(f, checkpointMagic, checkpointVersion, "an ulmfit-go LM checkpoint")
	if err != nil {
		return nil, bad("%v", err)
	}
	hlen := len(raw)
	c := &checkpointFile{path: path, f: f, payload: int64(16 + hlen)}
	if err := json.Unmarshal(raw, &c.header); err != nil {
		return nil, bad("header: %v", err)
	}
	h := &c.header
	if err := h.Config.Validate(); err != nil {
		return nil, bad("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		return nil, bad("%v", err)
	}
	if h.Floats < 0 || int64(h.Floats) > st.Size()/4 {
		return nil, bad("header records %d floats, the %d-byte file has room for at most %d: corrupt file", h.Floats, st.Size(), st.Size()/4)
	}
	if n, ok := floatsFor(h.Config, nil, h.Floats); !ok || n != h.Floats {
		return nil, bad("header records %d floats, its config %+v lays out more or fewer: corrupt file", h.Floats, h.Config)
	}
	c.floats = h.Floats
	if h.Optimizer != nil {
		c.floats = 3 * h.Floats
	}
	if want := c.payload + 4*int64(c.floats) + 4; st.Size() != want {
		return nil, bad("is %d bytes, the header promises %d (%d floats and a checksum): truncated or corrupt", st.Size(), want, c.floats)
	}
	return c, nil
}

// checkLayout compares the checkpoint's tensors with p's.
func (c *checkpointFile) checkLayout(p *Params) error {
	h := &c.header
	if len(h.Tensors) != len(p.names) {
		return fmt.Errorf("model: checkpoint %s has %d tensors, the model has %d (config %+v here, %+v in the file)",
			c.path, len(h.Tensors), len(p.names), p.cfg, h.Config)
	}
	for i, t := range h.Tensors {
		if t.Name != p.names[i] || !slices.Equal(t.Shape, p.shapes[i]) {
			return fmt.Errorf("model: checkpoint %s: tensor %d is %s %v, the model has %s %v",
				c.path, i, t.Name, t.Shape, p.names[i], p.shapes[i])
		}
	}
	if h.Floats != p.Len() {
		return fmt.Errorf("model: checkpoint %s holds %d parameters, the model %d", c.path, h.Floats, p.Len())
	}
	return nil
}

// verify streams the payload through CRC-32C and compares the stored sum.
func (c *checkpointFile) verify() error {
	if _, err := c.f.Seek(c.payload, io.SeekStart); err != nil {
		return fmt.Errorf("model: checkpoint %s: %w", c.path, err)
	}
	crc := crc32.New(crcTable)
	r := bufio.NewReaderSize(c.f, 1<<20)
	if _, err := io.CopyN(crc, r, 4*int64(c.floats)); err != nil {
		return fmt.Errorf("model: checkpoint %s: reading the payload: %w", c.path, err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return fmt.Errorf("model: checkpoint %s: reading the checksum: %w", c.path, err)
	}
	if got, want := crc.Sum32(), binary.LittleEndian.Uint32(tail[:]); got != want {
		return fmt.Errorf("model: checkpoint %s: payload checksum %08x, the file records %08x: the file is corrupt", c.path, got, want)
	}
	return nil
}

// payloadReader reads the payload's float32s in order, into device buffers.
type payloadReader struct {
	r    *bufio.Reader
	host []float32
	buf  []byte
}

func (c *checkpointFile) payloadReader() (*payloadReader, error) {
	if _, err := c.f.Seek(c.payload, io.SeekStart); err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", c.path, err)
	}
	return &payloadReader{r: bufio.NewReaderSize(c.f, 1<<20),
		host: make([]float32, ioChunkFloats), buf: make([]byte, 4*ioChunkFloats)}, nil
}

func (pr *payloadReader) into(be compute.Backend, v compute.Vec) error {
	for i := 0; i < v.N; i += ioChunkFloats {
		n := min(ioChunkFloats, v.N-i)
		if _, err := io.ReadFull(pr.r, pr.buf[:4*n]); err != nil {
			return err
		}
		for j := range pr.host[:n] {
			pr.host[j] = math.Float32frombits(binary.LittleEndian.Uint32(pr.buf[4*j:]))
		}
		be.Upload(v.Slice(i, i+n), pr.host[:n])
	}
	return nil
}

// LoadCheckpoint loads the checkpoint at path into m, which must have the
// checkpoint's tensor shapes; vocabHash must match the hash it was saved
// with. When opt is not nil, the optimiser's moments and step counts are
// restored too, and the checkpoint must hold them. Nothing is changed
// unless the whole file checks out.
func LoadCheckpoint(path string, m *LM, vocabHash string, opt *Adam) error {
	c, err := openCheckpoint(path)
	if err != nil {
		return err
	}
	defer c.f.Close()
	if c.header.VocabHash != vocabHash {
		return fmt.Errorf("model: checkpoint %s was trained on vocabulary %q, not %q: name the vocabulary it was trained with (an LM of another vocabulary is mapped onto this one when a row starts from it: pretrained = ...)",
			path, c.header.VocabHash, vocabHash)
	}
	if err := c.checkLayout(m.Params); err != nil {
		return err
	}
	if opt != nil {
		if c.header.Optimizer == nil {
			return fmt.Errorf("model: checkpoint %s holds no optimiser state to resume from (saved without one)", path)
		}
		if opt.params != m.Params {
			return fmt.Errorf("model: load checkpoint %s: the optimiser belongs to another model", path)
		}
		if len(c.header.Optimizer.Steps) != len(opt.steps) {
			return fmt.Errorf("model: checkpoint %s: optimiser has %d groups, this one %d", path, len(c.header.Optimizer.Steps), len(opt.steps))
		}
	}
	if err := c.verify(); err != nil {
		return err
	}
	pr, err := c.payloadReader()
	if err != nil {
		return err
	}
	targets := []compute.Vec{m.Params.flat}
	if opt != nil {
		targets = append(targets, opt.m, opt.v)
	}
	for _, v := range targets {
		if err := pr.into(m.be, v); err != nil {
			return fmt.Errorf("model: checkpoint %s: reading the payload: %w", path, err)
		}
	}
	if opt != nil {
		// The hyperparameters stay the caller's: only the state resumes.
		copy(opt.steps, c.header.Optimizer.Steps)
	}
	return nil
}

// LoadLM builds a model of the checkpoint's config on be and loads it.
func LoadLM(be compute.Backend, path, vocabHash string) (*LM, error) {
	c, err := openCheckpoint(path)
	if err != nil {
		return nil, err
	}
	cfg := c.header.Config
	c.f.Close()
	m, err := NewLM(be, cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	if err := LoadCheckpoint(path, m, vocabHash, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// Checkpoint is a checkpoint's model read into host memory, for inspection
// and vocabulary conversion.
type Checkpoint struct {
	Config    Config
	VocabHash string
	Names     []string
	Shapes    [][]int
	Flat      []float32 // the parameters in Params layout
}

// ReadCheckpoint reads the parameters of the checkpoint at path (not the
// optimiser state), checking its checksum.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	c, err := openCheckpoint(path)
	if err != nil {
		return nil, err
	}
	defer c.f.Close()
	if err := c.verify(); err != nil {
		return nil, err
	}
	h := &c.header
	ck := &Checkpoint{Config: h.Config, VocabHash: h.VocabHash, Flat: make([]float32, h.Floats)}
	for _, t := range h.Tensors {
		ck.Names = append(ck.Names, t.Name)
		ck.Shapes = append(ck.Shapes, t.Shape)
	}
	if _, err := c.f.Seek(c.payload, io.SeekStart); err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	if err := binary.Read(bufio.NewReaderSize(c.f, 1<<20), binary.LittleEndian, ck.Flat); err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: reading the payload: %w", path, err)
	}
	return ck, nil
}

// Params uploads the checkpoint's parameters to be, checking that its
// tensors are those its config lays out.
func (ck *Checkpoint) Params(be compute.Backend) (*Params, error) {
	p, err := NewParams(be, ck.Config)
	if err != nil {
		return nil, err
	}
	if len(ck.Names) != len(p.names) {
		return nil, fmt.Errorf("model: checkpoint has %d tensors, its config lays out %d", len(ck.Names), len(p.names))
	}
	for i := range ck.Names {
		if ck.Names[i] != p.names[i] || !slices.Equal(ck.Shapes[i], p.shapes[i]) {
			return nil, fmt.Errorf("model: checkpoint tensor %d is %s %v, its config lays out %s %v", i, ck.Names[i], ck.Shapes[i], p.names[i], p.shapes[i])
		}
	}
	if len(ck.Flat) != p.Len() {
		return nil, errors.New("model: checkpoint payload does not match its tensors")
	}
	be.Upload(p.flat, ck.Flat)
	return p, nil
}

// VerifyFile checks a file in any of this package's checkpoint formats (an
// LM checkpoint, a classifier, a classifier training checkpoint) without
// loading it: a known magic, a header of JSON, and the payload's CRC-32C
// against the one stored at the end. Truncation and flipped bits both fail
// it, with an error naming path. It needs no backend and holds one read
// buffer, so a cache can check big checkpoints before trusting them.
func VerifyFile(path string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: checkpoint %s: "+format, append([]any{path}, args...)...)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("model: checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return bad("%v", err)
	}
	var pre [16]byte
	if _, err := io.ReadFull(f, pre[:]); err != nil {
		return bad("reading the preamble: %v (not a checkpoint, or truncated)", err)
	}
	switch string(pre[:8]) {
	case checkpointMagic, classifierMagic, clsTrainMagic:
	default:
		return bad("starts with %q: not an ulmfit-go checkpoint", pre[:8])
	}
	hlen := int64(binary.LittleEndian.Uint32(pre[12:]))
	payload := st.Size() - 16 - hlen - 4
	if hlen > maxHeaderBytes || payload < 0 || payload%4 != 0 {
		return bad("%d bytes with a %d-byte header: truncated or corrupt", st.Size(), hlen)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	raw := make([]byte, hlen)
	if _, err := io.ReadFull(r, raw); err != nil {
		return bad("reading the %d-byte header: %v (truncated)", hlen, err)
	}
	if !json.Valid(raw) {
		return bad("the header is not valid JSON: corrupt file")
	}
	crc := crc32.New(crcTable)
	if _, err := io.CopyN(crc, r, payload); err != nil {
		return bad("reading the payload: %v", err)
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return bad("reading the checksum: %v", err)
	}
	if got, want := crc.Sum32(), binary.LittleEndian.Uint32(tail[:]); got != want {
		return bad("payload checksum %08x, the file records %08x: the file is corrupt", got, want)
	}
	return nil
}
