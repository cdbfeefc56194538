package text

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The numericalised corpus file (".ulmc"), all integers little-endian:
//
//	offset size  field
//	0      8     magic "ULMCORP1"
//	8      4     format version (1)
//	12     4     bytes per token id: 2 (uint16, vocabularies up to 65,536) or 4 (int32)
//	16     4     vocabulary size
//	20     4     reserved, 0
//	24     8     number of documents D
//	32     8     number of tokens N
//	40     32    vocabulary hash (SHA-256, Vocab.Hash)
//	72     4     CRC-32C of the payload
//	76     4     CRC-32C of bytes 0..75
//	80     8(D+1) document offsets: document i is tokens [off[i], off[i+1])
//	...    wN    token ids, the documents concatenated in order
//
// The payload is everything after the 80-byte header. Both sections start
// 8-byte aligned.
const (
	corpusMagic      = "ULMCORP1"
	corpusVersion    = 1
	corpusHeaderSize = 80
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// corpusHeader is the decoded fixed header.
type corpusHeader struct {
	width      int // bytes per token id
	vocabSize  int
	numDocs    int64
	numTokens  int64
	vocabHash  [32]byte
	payloadCRC uint32
}

func (h *corpusHeader) encode() []byte {
	b := make([]byte, corpusHeaderSize)
	copy(b, corpusMagic)
	binary.LittleEndian.PutUint32(b[8:], corpusVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(h.width))
	binary.LittleEndian.PutUint32(b[16:], uint32(h.vocabSize))
	binary.LittleEndian.PutUint64(b[24:], uint64(h.numDocs))
	binary.LittleEndian.PutUint64(b[32:], uint64(h.numTokens))
	copy(b[40:72], h.vocabHash[:])
	binary.LittleEndian.PutUint32(b[72:], h.payloadCRC)
	binary.LittleEndian.PutUint32(b[76:], crc32.Checksum(b[:76], castagnoli))
	return b
}

// decodeCorpusHeader checks and decodes the header of a file of size bytes.
func decodeCorpusHeader(b []byte, size int64, path string) (*corpusHeader, error) {
	if size < corpusHeaderSize {
		if size >= 8 && string(b[:8]) != corpusMagic {
			return nil, fmt.Errorf("%s: not a numericalised corpus (magic %q, want %q)", path, b[:8], corpusMagic)
		}
		return nil, fmt.Errorf("%s: truncated: %d bytes, shorter than the %d-byte header", path, size, corpusHeaderSize)
	}
	if string(b[:8]) != corpusMagic {
		return nil, fmt.Errorf("%s: not a numericalised corpus (magic %q, want %q)", path, b[:8], corpusMagic)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != corpusVersion {
		return nil, fmt.Errorf("%s: corpus format version %d; this build reads version %d", path, v, corpusVersion)
	}
	if got, want := binary.LittleEndian.Uint32(b[76:]), crc32.Checksum(b[:76], castagnoli); got != want {
		return nil, fmt.Errorf("%s: header checksum %08x, want %08x: the header is corrupt", path, got, want)
	}
	h := &corpusHeader{
		width:      int(binary.LittleEndian.Uint32(b[12:])),
		vocabSize:  int(binary.LittleEndian.Uint32(b[16:])),
		numDocs:    int64(binary.LittleEndian.Uint64(b[24:])),
		numTokens:  int64(binary.LittleEndian.Uint64(b[32:])),
		payloadCRC: binary.LittleEndian.Uint32(b[72:]),
	}
	copy(h.vocabHash[:], b[40:72])
	if h.width != 2 && h.width != 4 {
		return nil, fmt.Errorf("%s: token width %d bytes, want 2 or 4", path, h.width)
	}
	if h.numDocs < 0 || h.numTokens < 0 || h.numDocs > size/8 || h.numTokens > size/int64(h.width) {
		return nil, fmt.Errorf("%s: header claims %d documents and %d tokens, impossible in %d bytes", path, h.numDocs, h.numTokens, size)
	}
	want := h.fileSize()
	if size < want {
		return nil, fmt.Errorf("%s: truncated: %d bytes, the header promises %d", path, size, want)
	}
	if size > want {
		return nil, fmt.Errorf("%s: %d bytes, the header promises %d: trailing data", path, size, want)
	}
	return h, nil
}

func (h *corpusHeader) fileSize() int64 {
	return corpusHeaderSize + 8*(h.numDocs+1) + int64(h.width)*h.numTokens
}

// CorpusWriter writes a numericalised corpus one document at a time. Token
// ids go to a temporary file as they come, so memory holds only the
// document offsets (8 bytes a document); Close assembles the final file
// atomically.
type CorpusWriter struct {
	path    string
	header  corpusHeader
	tokens  *os.File      // temporary file of token ids
	buf     *bufio.Writer // over tokens
	offsets []uint64
	enc     []byte
	closed  bool
}

// CreateCorpus starts a corpus at path whose ids come from v. Nothing
// appears at path until Close succeeds.
func CreateCorpus(path string, v *Vocab) (*CorpusWriter, error) {
	tokens, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".ids*")
	if err != nil {
		return nil, err
	}
	w := &CorpusWriter{
		path:    path,
		tokens:  tokens,
		buf:     bufio.NewWriterSize(tokens, 1<<20),
		offsets: []uint64{0},
	}
	w.header.width = 4
	if v.Len() <= 1<<16 {
		w.header.width = 2
	}
	w.header.vocabSize = v.Len()
	if _, err := hex.Decode(w.header.vocabHash[:], []byte(v.Hash())); err != nil {
		tokens.Close()
		os.Remove(tokens.Name())
		return nil, fmt.Errorf("vocabulary hash %q: %w", v.Hash(), err)
	}
	return w, nil
}

// Add appends one document's token ids. Every id must be in the
// vocabulary's range.
func (w *CorpusWriter) Add(ids []int32) error {
	if w.closed {
		return fmt.Errorf("%s: Add after Close", w.path)
	}
	w.enc = w.enc[:0]
	for _, id := range ids {
		if id < 0 || int(id) >= w.header.vocabSize {
			return fmt.Errorf("%s: document %d has token id %d, outside the vocabulary of %d", w.path, w.header.numDocs, id, w.header.vocabSize)
		}
		if w.header.width == 2 {
			w.enc = binary.LittleEndian.AppendUint16(w.enc, uint16(id))
		} else {
			w.enc = binary.LittleEndian.AppendUint32(w.enc, uint32(id))
		}
	}
	if _, err := w.buf.Write(w.enc); err != nil {
		return fmt.Errorf("write %s: %w", w.tokens.Name(), err)
	}
	w.header.numDocs++
	w.header.numTokens += int64(len(ids))
	w.offsets = append(w.offsets, uint64(w.header.numTokens))
	return nil
}

// NumDocs returns the number of documents added so far.
func (w *CorpusWriter) NumDocs() int64 { return w.header.numDocs }

// NumTokens returns the number of tokens added so far.
func (w *CorpusWriter) NumTokens() int64 { return w.header.numTokens }

// Close writes the corpus to its path: header, offsets, then the token ids,
// into a temporary file renamed into place.
func (w *CorpusWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer os.Remove(w.tokens.Name())
	defer w.tokens.Close()
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.tokens.Name(), err)
	}
	if _, err := w.tokens.Seek(0, io.SeekStart); err != nil {
		return err
	}
	offsets := make([]byte, 0, 8*len(w.offsets))
	for _, o := range w.offsets {
		offsets = binary.LittleEndian.AppendUint64(offsets, o)
	}
	w.offsets = nil
	return w.assemble(offsets)
}

// assemble writes header, offsets and the temporary token file into a
// temporary file beside path, computing the payload checksum on the way,
// and renames it into place.
func (w *CorpusWriter) assemble(offsets []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	out := bufio.NewWriterSize(f, 1<<20)
	out.Write(make([]byte, corpusHeaderSize)) // rewritten once the checksum is known
	out.Write(offsets)
	crc := crc32.Update(0, castagnoli, offsets)
	buf := make([]byte, 1<<20)
	for {
		n, rerr := w.tokens.Read(buf)
		crc = crc32.Update(crc, castagnoli, buf[:n])
		out.Write(buf[:n])
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read %s: %w", w.tokens.Name(), rerr)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.header.payloadCRC = crc
	if _, err := f.WriteAt(w.header.encode(), 0); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	return commitTemp(f, w.path)
}

// Abort discards the corpus: nothing is written at its path.
func (w *CorpusWriter) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.tokens.Close()
	os.Remove(w.tokens.Name())
}

// Corpus is a numericalised corpus opened for reading: memory-mapped where
// the system allows, else read into memory. It is safe for concurrent use.
type Corpus struct {
	path    string
	header  *corpusHeader
	data    []byte // the whole file
	offsets []byte // D+1 little-endian uint64
	tokens  []byte // N ids of header.width bytes
	release func() error
}

// OpenCorpus opens a corpus written by CorpusWriter and checks it whole: the
// header, the size, the payload checksum, the offsets and every id. With a
// non-nil v it also checks that the corpus was numericalised with v (same
// hash); pass nil to open a corpus without its vocabulary. Every failure
// names the file.
func OpenCorpus(path string, v *Vocab) (*Corpus, error) {
	data, release, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	c, err := newCorpus(path, data, release, v)
	if err != nil {
		release()
		return nil, err
	}
	return c, nil
}

func newCorpus(path string, data []byte, release func() error, v *Vocab) (*Corpus, error) {
	h, err := decodeCorpusHeader(data, int64(len(data)), path)
	if err != nil {
		return nil, err
	}
	if v != nil {
		if got := hex.EncodeToString(h.vocabHash[:]); got != v.Hash() {
			return nil, fmt.Errorf("%s: numericalised with vocabulary %s, not the given %s (%d tokens): re-numericalise or load the matching vocabulary",
				path, got[:16], v.Hash()[:16], v.Len())
		}
		if h.vocabSize != v.Len() {
			return nil, fmt.Errorf("%s: vocabulary size %d in the header, the vocabulary has %d", path, h.vocabSize, v.Len())
		}
	}
	payload := data[corpusHeaderSize:]
	if got := crc32.Checksum(payload, castagnoli); got != h.payloadCRC {
		return nil, fmt.Errorf("%s: payload checksum %08x, want %08x: the file is corrupt", path, got, h.payloadCRC)
	}
	c := &Corpus{
		path:    path,
		header:  h,
		data:    data,
		offsets: payload[:8*(h.numDocs+1)],
		tokens:  payload[8*(h.numDocs+1):],
		release: release,
	}
	prev := uint64(0)
	for i := int64(0); i <= h.numDocs; i++ {
		o := binary.LittleEndian.Uint64(c.offsets[8*i:])
		if i == 0 && o != 0 || o < prev || o > uint64(h.numTokens) || i == h.numDocs && o != uint64(h.numTokens) {
			return nil, fmt.Errorf("%s: document offset %d is %d (previous %d, %d tokens): the offsets are corrupt", path, i, o, prev, h.numTokens)
		}
		prev = o
	}
	if i, id := c.checkIDs(); i >= 0 {
		return nil, fmt.Errorf("%s: token %d has id %d, outside the vocabulary of %d", path, i, id, h.vocabSize)
	}
	return c, nil
}

// checkIDs returns the position and value of the first id outside the
// vocabulary, or -1.
func (c *Corpus) checkIDs() (int64, int64) {
	limit := c.header.vocabSize
	if c.header.width == 2 {
		for i := 0; i+1 < len(c.tokens); i += 2 {
			if id := int(binary.LittleEndian.Uint16(c.tokens[i:])); id >= limit {
				return int64(i / 2), int64(id)
			}
		}
		return -1, 0
	}
	for i := 0; i+3 < len(c.tokens); i += 4 {
		if id := int32(binary.LittleEndian.Uint32(c.tokens[i:])); id < 0 || int(id) >= limit {
			return int64(i / 4), int64(id)
		}
	}
	return -1, 0
}

// Close releases the corpus's memory. Slices returned earlier stay valid:
// they are copies.
func (c *Corpus) Close() error {
	if c.release == nil {
		return nil
	}
	err := c.release()
	c.release, c.data, c.offsets, c.tokens = nil, nil, nil, nil
	return err
}

// Path returns the file the corpus was opened from.
func (c *Corpus) Path() string { return c.path }

// NumDocs returns the number of documents.
func (c *Corpus) NumDocs() int { return int(c.header.numDocs) }

// NumTokens returns the number of tokens in all documents.
func (c *Corpus) NumTokens() int64 { return c.header.numTokens }

// VocabHash returns the hash of the vocabulary the corpus was numericalised with.
func (c *Corpus) VocabHash() string { return hex.EncodeToString(c.header.vocabHash[:]) }

// VocabSize returns the size of that vocabulary.
func (c *Corpus) VocabSize() int { return c.header.vocabSize }

// docRange returns the token range of document i.
func (c *Corpus) docRange(i int) (int64, int64) {
	if i < 0 || i >= c.NumDocs() {
		panic(fmt.Sprintf("text: document %d of a corpus of %d (%s)", i, c.NumDocs(), c.path))
	}
	return int64(binary.LittleEndian.Uint64(c.offsets[8*i:])), int64(binary.LittleEndian.Uint64(c.offsets[8*i+8:]))
}

// DocLen returns the number of tokens of document i.
func (c *Corpus) DocLen(i int) int {
	start, end := c.docRange(i)
	return int(end - start)
}

// Doc returns a copy of the token ids of document i (0 <= i < NumDocs()).
func (c *Corpus) Doc(i int) []int32 { return c.AppendDoc(nil, i) }

// AppendDoc appends the token ids of document i to dst.
func (c *Corpus) AppendDoc(dst []int32, i int) []int32 {
	start, end := c.docRange(i)
	n := len(dst)
	dst = append(dst, make([]int32, end-start)...)
	c.decode(dst[n:], start)
	return dst
}

// decode fills dst with the ids from token position start.
func (c *Corpus) decode(dst []int32, start int64) {
	if c.header.width == 2 {
		b := c.tokens[2*start : 2*(start+int64(len(dst)))]
		for j := range dst {
			dst[j] = int32(binary.LittleEndian.Uint16(b[2*j:]))
		}
		return
	}
	b := c.tokens[4*start : 4*(start+int64(len(dst)))]
	for j := range dst {
		dst[j] = int32(binary.LittleEndian.Uint32(b[4*j:]))
	}
}

// Stream returns all tokens of the corpus as one sequence, the documents
// concatenated in order, each starting with xxbos: the input of language
// model training (fastai's LanguageModelPreLoader).
func (c *Corpus) Stream() Stream { return Stream{c} }

// Stream is a corpus's tokens as one random-access sequence.
type Stream struct{ c *Corpus }

// Len returns the number of tokens.
func (s Stream) Len() int64 { return s.c.header.numTokens }

// At returns token i (0 <= i < Len()).
func (s Stream) At(i int64) int32 {
	if i < 0 || i >= s.Len() {
		panic(fmt.Sprintf("text: token %d of a stream of %d (%s)", i, s.Len(), s.c.path))
	}
	var one [1]int32
	s.c.decode(one[:], i)
	return one[0]
}

// Read fills dst with the tokens from position start and returns how many it
// copied: fewer than len(dst) only at the end of the stream, 0 at or past it.
func (s Stream) Read(dst []int32, start int64) int {
	if start < 0 {
		panic(fmt.Sprintf("text: stream position %d (%s)", start, s.c.path))
	}
	if start >= s.Len() {
		return 0
	}
	n := min(int64(len(dst)), s.Len()-start)
	s.c.decode(dst[:n], start)
	return int(n)
}
