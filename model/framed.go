package model

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The three files this package writes (LM checkpoints, classifiers and
// classifier training checkpoints) share one frame:
//
//	magic    8 bytes, the file kind
//	version  uint32
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON
//	payload  float32s, little-endian
//	crc      uint32   CRC-32C (Castagnoli) of the payload bytes
//
// writeFramed and readPreamble are its two ends; each kind keeps its own
// header and payload layout.

// writeFramed writes a frame to w: header as given, then payload's
// buffers downloaded from be a chunk at a time, in order.
func writeFramed(w io.Writer, magic string, version uint32, header []byte, be compute.Backend, payload []compute.Vec) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var pre [16]byte
	copy(pre[:8], magic)
	binary.LittleEndian.PutUint32(pre[8:], version)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(header)))
	bw.Write(pre[:]) // a bufio.Writer keeps its first error for Flush
	bw.Write(header)
	crc := crc32.New(crcTable)
	out := io.MultiWriter(bw, crc)
	host := make([]float32, ioChunkFloats)
	buf := make([]byte, 4*ioChunkFloats)
	for _, v := range payload {
		for i := 0; i < v.N; i += ioChunkFloats {
			n := min(ioChunkFloats, v.N-i)
			be.Download(host[:n], v.Slice(i, i+n))
			for j, x := range host[:n] {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			if _, err := out.Write(buf[:4*n]); err != nil {
				return err
			}
		}
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
	bw.Write(tail[:])
	return bw.Flush()
}

// readPreamble reads a frame's preamble and header from r and checks the
// magic and version; what names the kind in messages ("an ulmfit-go LM
// checkpoint"). The error says what was wrong, for the caller to prefix
// with the file's name.
func readPreamble(r io.Reader, magic string, version uint32, what string) ([]byte, error) {
	var pre [16]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("reading the preamble: %v (not %s, or truncated)", err, what)
	}
	if string(pre[:8]) != magic {
		return nil, fmt.Errorf("starts with %q, want the magic %q: not %s", pre[:8], magic, what)
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != version {
		return nil, fmt.Errorf("format version %d, this build reads version %d", v, version)
	}
	hlen := binary.LittleEndian.Uint32(pre[12:])
	if hlen > maxHeaderBytes {
		return nil, fmt.Errorf("header of %d bytes, at most %d expected: corrupt file", hlen, maxHeaderBytes)
	}
	raw := make([]byte, hlen)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading the %d-byte header: %v (truncated)", hlen, err)
	}
	return raw, nil
}
