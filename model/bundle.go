package model

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/ulmfit-go/ulmfit/compute"
)

// A Bundle is a trained classifier made self-contained for prediction: the
// vocabulary, the tokeniser's settings and the forward classifier, with the
// backward one of a bidirectional ensemble when there is one. The file is
//
//	magic    8 bytes  "ULMFITXP"
//	version  uint32   bundleVersion
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON: vocabulary (tokens in id order), xxbos id,
//	         tokeniser settings, whether a backward classifier follows
//	hcrc     uint32   CRC-32C of the header
//	the forward classifier, then the backward one, each a classifier
//	checkpoint (clscheckpoint.go) with its own checksum
//
// written atomically.

const (
	bundleMagic   = "ULMFITXP"
	bundleVersion = 1
)

// Bundle is a loaded or to-be-saved bundle.
type Bundle struct {
	Itos      []string        // the vocabulary, id order
	VocabHash string          // the hash the classifiers were trained with
	BOS       int32           // the id of xxbos, for reversing documents; -1 if none
	Tokenizer json.RawMessage // the tokeniser's settings, in the caller's format
	Forward   *Classifier
	Backward  *Classifier // nil: no backward model
}

type bundleHeader struct {
	Itos      []string        `json:"itos"`
	VocabHash string          `json:"vocab_hash"`
	BOS       int32           `json:"bos"`
	Tokenizer json.RawMessage `json:"tokenizer,omitempty"`
	Backward  bool            `json:"backward"`
}

// SaveBundle writes b to path.
func SaveBundle(path string, b *Bundle) error {
	if err := b.check(); err != nil {
		return fmt.Errorf("model: save bundle %s: %w", path, err)
	}
	header, err := json.Marshal(bundleHeader{Itos: b.Itos, VocabHash: b.VocabHash, BOS: b.BOS, Tokenizer: b.Tokenizer, Backward: b.Backward != nil})
	if err != nil {
		return fmt.Errorf("model: save bundle %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var pre [16]byte
		copy(pre[:8], bundleMagic)
		binary.LittleEndian.PutUint32(pre[8:], bundleVersion)
		binary.LittleEndian.PutUint32(pre[12:], uint32(len(header)))
		bw.Write(pre[:])
		bw.Write(header)
		var sum [4]byte
		binary.LittleEndian.PutUint32(sum[:], crc32.Checksum(header, crcTable))
		bw.Write(sum[:])
		for _, c := range []*Classifier{b.Forward, b.Backward} {
			if c == nil {
				continue
			}
			if err := writeClassifier(bw, c, b.VocabHash); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}

func (b *Bundle) check() error {
	if b.Forward == nil {
		return fmt.Errorf("no forward classifier")
	}
	for _, c := range []*Classifier{b.Forward, b.Backward} {
		if c != nil && c.cfg.Vocab != len(b.Itos) {
			return fmt.Errorf("a classifier over %d tokens with a vocabulary of %d", c.cfg.Vocab, len(b.Itos))
		}
	}
	if b.Forward.Backward {
		return fmt.Errorf("the forward classifier is marked backward")
	}
	if b.Backward != nil {
		if !b.Backward.Backward {
			return fmt.Errorf("the backward classifier is not marked backward (Classifier.Backward)")
		}
		if b.Backward.Classes != b.Forward.Classes {
			return fmt.Errorf("the forward classifier has %d classes, the backward %d", b.Forward.Classes, b.Backward.Classes)
		}
	}
	if b.BOS >= int32(len(b.Itos)) || b.BOS < -1 {
		return fmt.Errorf("xxbos id %d outside the vocabulary of %d", b.BOS, len(b.Itos))
	}
	return nil
}

// LoadBundle reads the bundle at path onto be.
func LoadBundle(be compute.Backend, path string) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: bundle: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: bundle %s: "+format, append([]any{path}, args...)...)
	}
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, bad("reading the preamble: %v (not a bundle, or truncated)", err)
	}
	if string(pre[:8]) != bundleMagic {
		return nil, bad("starts with %q, want the magic %q: not an ulmfit-go bundle (ulmfit export makes one)", pre[:8], bundleMagic)
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != bundleVersion {
		return nil, bad("format version %d, this build reads version %d", v, bundleVersion)
	}
	hlen := binary.LittleEndian.Uint32(pre[12:])
	st, err := f.Stat()
	if err != nil {
		return nil, bad("%v", err)
	}
	if int64(hlen)+20 > st.Size() {
		return nil, bad("header of %d bytes in a file of %d: truncated or corrupt", hlen, st.Size())
	}
	raw := make([]byte, hlen+4)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, bad("reading the %d-byte header: %v (truncated)", hlen, err)
	}
	if got, want := crc32.Checksum(raw[:hlen], crcTable), binary.LittleEndian.Uint32(raw[hlen:]); got != want {
		return nil, bad("header checksum %08x, the file records %08x: the file is corrupt", got, want)
	}
	var h bundleHeader
	if err := json.Unmarshal(raw[:hlen], &h); err != nil {
		return nil, bad("header: %v", err)
	}
	b := &Bundle{Itos: h.Itos, VocabHash: h.VocabHash, BOS: h.BOS, Tokenizer: h.Tokenizer}
	n := 1
	if h.Backward {
		n = 2
	}
	for i := 0; i < n; i++ {
		c, hash, err := readClassifier(be, r, fmt.Sprintf("%d of bundle %s", i+1, path))
		if err != nil {
			return nil, err
		}
		if hash != h.VocabHash {
			return nil, bad("classifier %d was trained on vocabulary %q, the bundle's is %q", i+1, hash, h.VocabHash)
		}
		if i == 0 {
			b.Forward = c
		} else {
			b.Backward = c
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, bad("data after the last classifier: corrupt file")
	}
	if err := b.check(); err != nil {
		return nil, bad("%v", err)
	}
	return b, nil
}

// Classes is the number of classes.
func (b *Bundle) Classes() int { return b.Forward.Classes }

// Labels are the class names, or nil when the classifier has none.
func (b *Bundle) Labels() []string { return b.Forward.Labels }

// Predict returns each document's class probabilities: the forward
// classifier's, averaged with the backward one's on the reversed document
// when the bundle has one.
func (b *Bundle) Predict(docs [][]int32) ([][]float32, error) {
	pf, err := b.Forward.Predict(docs)
	if err != nil || b.Backward == nil {
		return pf, err
	}
	pb, err := b.Backward.Predict(ReverseDocs(docs, b.BOS))
	if err != nil {
		return nil, err
	}
	return EnsembleProbs(pf, pb)
}
