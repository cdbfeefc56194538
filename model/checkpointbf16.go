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

	"github.com/ulmfit-go/ulmfit/compute"
)

// A bfloat16 checkpoint is an LM checkpoint (checkpoint.go) whose
// parameters are rounded to bfloat16, half the bytes of a stored copy (the
// model zoo's, package zoo), in the frame of framed.go with its own magic:
//
//	magic    8 bytes  "ULMFITBF"
//	version  uint32   bf16CheckpointVersion
//	hlen     uint32   length of the header
//	header   the LM checkpoint's header JSON as SaveCheckpoint writes it
//	         without optimiser state: config, vocabulary hash, tensors, floats
//	payload  the flat parameters as little-endian bfloat16, each the float32
//	         rounded to nearest, ties to even (compute.ToBF16)
//	crc      uint32   CRC-32C (Castagnoli) of the payload bytes
//
// A bfloat16 is the upper half of a float32, so widening is exact:
// WidenCheckpoint writes the LM checkpoint that SaveCheckpoint writes for
// the rounded parameters, byte for byte, which every reader of LM
// checkpoints then reads as it reads any other. Rounding is the only change:
// 8 significant bits in place of 24, a relative error of at most 2^-8 a
// parameter, the rounding bf16 products apply to their operands
// (compute/bf16.go) and torch's bfloat16 storage.
const (
	bf16CheckpointMagic   = "ULMFITBF"
	bf16CheckpointVersion = 1
	bf16What              = "an ulmfit-go bfloat16 LM checkpoint"
)

// NarrowCheckpoint writes the LM checkpoint at path to w as a bfloat16
// checkpoint, leaving out optimiser state. A parameter that is not finite,
// or that rounds to an infinity (beyond about 3.39e38), is an error naming
// its tensor and index: the rounded model would not be the model.
func NarrowCheckpoint(w io.Writer, path string) error {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return err
	}
	h := checkpointHeader{Config: ck.Config, VocabHash: ck.VocabHash, Floats: len(ck.Flat)}
	for i, name := range ck.Names {
		h.Tensors = append(h.Tensors, tensorInfo{Name: name, Shape: ck.Shapes[i]})
	}
	header, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("model: narrow checkpoint %s: %w", path, err)
	}
	payload := make([]byte, 2*len(ck.Flat))
	for i, x := range ck.Flat {
		b := compute.ToBF16(x)
		if r := compute.FromBF16(b); math.IsNaN(float64(r)) || math.IsInf(float64(r), 0) {
			name, at := ck.tensorAt(i)
			return fmt.Errorf("model: narrow checkpoint %s: %s[%d] is %v, which has no finite bfloat16", path, name, at, x)
		}
		binary.LittleEndian.PutUint16(payload[2*i:], b)
	}
	return writeFrame(w, bf16CheckpointMagic, bf16CheckpointVersion, header, payload)
}

// tensorAt names the tensor that holds the flat parameter i, and i's index
// in it.
func (ck *Checkpoint) tensorAt(i int) (name string, at int) {
	for t, shape := range ck.Shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		if i < n {
			return ck.Names[t], i
		}
		i -= n
	}
	return "payload", i
}

// writeFrame writes one frame of framed.go's layout with a payload held in
// memory.
func writeFrame(w io.Writer, magic string, version uint32, header, payload []byte) error {
	bw := bufio.NewWriter(w)
	var pre [16]byte
	copy(pre[:8], magic)
	binary.LittleEndian.PutUint32(pre[8:], version)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(header)))
	bw.Write(pre[:]) // a bufio.Writer keeps its first error for Flush
	bw.Write(header)
	bw.Write(payload)
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc32.Checksum(payload, crcTable))
	bw.Write(tail[:])
	return bw.Flush()
}

// WidenCheckpoint reads a bfloat16 checkpoint from r and writes the LM
// checkpoint it holds to w, a chunk at a time. name is the file's name in
// errors. A stream that is not a bfloat16 checkpoint, is cut short, runs on
// past its checksum or whose checksum differs is an error, and so is one
// from w (wrapped, for errors.As); w may have been written to by then.
func WidenCheckpoint(w io.Writer, r io.Reader, name string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: bfloat16 checkpoint %s: "+format, append([]any{name}, args...)...)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	header, err := readPreamble(br, bf16CheckpointMagic, bf16CheckpointVersion, bf16What)
	if err != nil {
		return bad("%v", err)
	}
	var h checkpointHeader
	if err := json.Unmarshal(header, &h); err != nil {
		return bad("header: %v", err)
	}
	if err := h.Config.Validate(); err != nil {
		return bad("%v", err)
	}
	if n, ok := floatsFor(h.Config, nil, h.Floats); !ok || n != h.Floats {
		return bad("header records %d parameters, its config %+v lays out more or fewer: corrupt file", h.Floats, h.Config)
	}
	if h.Optimizer != nil {
		return bad("header records optimiser state, which a bfloat16 checkpoint never holds: corrupt file")
	}

	bw := bufio.NewWriterSize(w, 1<<20)
	var pre [16]byte
	copy(pre[:8], checkpointMagic)
	binary.LittleEndian.PutUint32(pre[8:], checkpointVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(header)))
	bw.Write(pre[:])
	bw.Write(header)
	inCRC, outCRC := crc32.New(crcTable), crc32.New(crcTable)
	in, out := make([]byte, 2*ioChunkFloats), make([]byte, 4*ioChunkFloats)
	for i := 0; i < h.Floats; i += ioChunkFloats {
		n := min(ioChunkFloats, h.Floats-i)
		if _, err := io.ReadFull(br, in[:2*n]); err != nil {
			return bad("reading the payload: %v (truncated)", err)
		}
		inCRC.Write(in[:2*n])
		for j := range n {
			binary.LittleEndian.PutUint32(out[4*j:], uint32(binary.LittleEndian.Uint16(in[2*j:]))<<16)
		}
		outCRC.Write(out[:4*n])
		bw.Write(out[:4*n])
	}
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return bad("reading the checksum: %v (truncated)", err)
	}
	if got, want := inCRC.Sum32(), binary.LittleEndian.Uint32(tail[:]); got != want {
		return bad("payload checksum %08x, the file records %08x: the file is corrupt", got, want)
	}
	switch _, err := br.ReadByte(); {
	case err == nil:
		return bad("bytes after the checksum: corrupt file")
	case !errors.Is(err, io.EOF):
		return bad("reading past the checksum: %v", err)
	}
	binary.LittleEndian.PutUint32(tail[:], outCRC.Sum32())
	bw.Write(tail[:])
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("model: widening bfloat16 checkpoint %s: %w", name, err)
	}
	return nil
}
