package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"

	"github.com/ulmfit-go/ulmfit/compute"
)

// A classifier checkpoint is laid out like an LM checkpoint (checkpoint.go):
//
//	magic    8 bytes  "ULMFITCL"
//	version  uint32   classifierVersion
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON: encoder config, head config, classes,
//	         BPT3C settings, labels, direction, vocabulary hash, tensor
//	         names and shapes, float counts
//	payload  the flat parameters (encoder and head), then the batch norms'
//	         running statistics (bn1 mean, bn1 var, bn2 mean, bn2 var), as
//	         little-endian float32
//	crc      uint32   CRC-32C (Castagnoli) of the payload
//
// written to a temporary file and renamed into place. A classifier is
// self-delimiting, so a Bundle embeds it as is.

const (
	classifierMagic   = "ULMFITCL"
	classifierVersion = 1
)

type classifierHeader struct {
	Config     Config       `json:"config"`
	Head       HeadConfig   `json:"head"`
	Classes    int          `json:"classes"`
	BPTT       int          `json:"bptt"`
	MaxLen     int          `json:"max_len"`
	EvalBatch  int          `json:"eval_batch"`
	Labels     []string     `json:"labels,omitempty"`
	Backward   bool         `json:"backward"`
	Pretrained bool         `json:"pretrained"`
	VocabHash  string       `json:"vocab_hash"`
	Tensors    []tensorInfo `json:"tensors"`
	Floats     int          `json:"floats"`
	Stats      int          `json:"stats"` // running-statistics floats after the parameters
}

// SaveClassifier writes c to path with the caller's hash of the vocabulary
// it was trained on (text.Vocab.Hash), atomically.
func SaveClassifier(path string, c *Classifier, vocabHash string) error {
	return writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := writeClassifier(bw, c, vocabHash); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// LoadClassifier reads the classifier at path onto be. vocabHash must be the
// hash it was saved with. Nothing is built unless the whole file checks out.
func LoadClassifier(be compute.Backend, path, vocabHash string) (*Classifier, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: classifier: %w", err)
	}
	defer f.Close()
	c, hash, err := readClassifier(be, bufio.NewReaderSize(f, 1<<20), path)
	if err != nil {
		return nil, err
	}
	if hash != vocabHash {
		return nil, fmt.Errorf("model: classifier %s was trained on vocabulary %q, not %q", path, hash, vocabHash)
	}
	return c, nil
}

func (c *Classifier) header(vocabHash string) classifierHeader {
	h := classifierHeader{Config: c.cfg, Head: c.Head, Classes: c.Classes, BPTT: c.BPTT, MaxLen: c.MaxLen,
		EvalBatch: c.EvalBatch, Labels: c.Labels, Backward: c.Backward, Pretrained: c.pretrained,
		VocabHash: vocabHash, Floats: c.Params.Len()}
	for i, name := range c.Params.names {
		h.Tensors = append(h.Tensors, tensorInfo{Name: name, Shape: c.Params.shapes[i]})
	}
	for _, v := range c.runningStats() {
		h.Stats += v.N
	}
	return h
}

func writeClassifier(w io.Writer, c *Classifier, vocabHash string) error {
	if c.Labels != nil && len(c.Labels) != c.Classes {
		return fmt.Errorf("model: save classifier: %d labels for %d classes", len(c.Labels), c.Classes)
	}
	header, err := json.Marshal(c.header(vocabHash))
	if err != nil {
		return fmt.Errorf("model: save classifier: %w", err)
	}
	payload := append([]compute.Vec{c.Params.flat}, c.runningStats()...)
	return writeFramed(w, classifierMagic, classifierVersion, header, c.be, payload)
}

// readClassifier reads one classifier from r (name is for messages) onto be
// and returns it with its vocabulary hash. The payload is read and checked
// on the host before anything reaches the device.
func readClassifier(be compute.Backend, r io.Reader, name string) (*Classifier, string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: classifier %s: "+format, append([]any{name}, args...)...)
	}
	raw, err := readPreamble(r, classifierMagic, classifierVersion, "an ulmfit-go classifier")
	if err != nil {
		return nil, "", bad("%v", err)
	}
	var h classifierHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, "", bad("header: %v", err)
	}
	if err := h.Config.Validate(); err != nil {
		return nil, "", bad("%v", err)
	}
	if h.Floats < 0 || h.Stats < 0 || h.Floats > math.MaxInt-h.Stats {
		return nil, "", bad("header records %d parameters and %d statistics: corrupt file", h.Floats, h.Stats)
	}
	// The payload comes before the classifier is built, in chunks, so that
	// memory follows the bytes the file really holds, not the header's
	// counts; only then are the counts compared with the config's layout.
	n := h.Floats + h.Stats
	payload := make([]float32, 0, min(n, ioChunkFloats))
	crc := crc32.New(crcTable)
	buf := make([]byte, 4*ioChunkFloats)
	for i := 0; i < n; i += ioChunkFloats {
		k := min(ioChunkFloats, n-i)
		if _, err := io.ReadFull(r, buf[:4*k]); err != nil {
			return nil, "", bad("reading the payload: %v (truncated)", err)
		}
		crc.Write(buf[:4*k])
		for j := 0; j < k; j++ {
			payload = append(payload, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:])))
		}
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, "", bad("reading the checksum: %v (truncated)", err)
	}
	if got, stored := crc.Sum32(), binary.LittleEndian.Uint32(tail[:]); got != stored {
		return nil, "", bad("payload checksum %08x, the file records %08x: the file is corrupt", got, stored)
	}
	if floats, ok := floatsFor(h.Config, headSpecs(3*h.Config.Emb, h.Head.Hidden, h.Classes), h.Floats); !ok || floats != h.Floats {
		return nil, "", bad("holds %d parameters; its config %+v and head of %d classes lay out more or fewer: corrupt file",
			h.Floats, h.Config, h.Classes)
	}
	c, err := newClassifier(be, h.Config, h.Head, h.Classes, 0)
	if err != nil {
		return nil, "", bad("%v", err)
	}
	want := c.header(h.VocabHash)
	if len(h.Tensors) != len(want.Tensors) || h.Floats != want.Floats || h.Stats != want.Stats {
		return nil, "", bad("holds %d tensors, %d parameters and %d statistics; its config lays out %d, %d and %d",
			len(h.Tensors), h.Floats, h.Stats, len(want.Tensors), want.Floats, want.Stats)
	}
	for i, t := range h.Tensors {
		if t.Name != want.Tensors[i].Name || !slices.Equal(t.Shape, want.Tensors[i].Shape) {
			return nil, "", bad("tensor %d is %s %v, its config lays out %s %v", i, t.Name, t.Shape, want.Tensors[i].Name, want.Tensors[i].Shape)
		}
	}
	if h.Labels != nil && len(h.Labels) != h.Classes {
		return nil, "", bad("%d labels for %d classes", len(h.Labels), h.Classes)
	}
	be.Upload(c.Params.flat, payload[:h.Floats])
	off := h.Floats
	for _, v := range c.runningStats() {
		be.Upload(v, payload[off:off+v.N])
		off += v.N
	}
	c.BPTT, c.MaxLen, c.EvalBatch = h.BPTT, h.MaxLen, h.EvalBatch
	c.Labels, c.Backward, c.pretrained = h.Labels, h.Backward, h.Pretrained
	if err := c.checkSettings(); err != nil {
		return nil, "", bad("%v", err)
	}
	return c, h.VocabHash, nil
}
