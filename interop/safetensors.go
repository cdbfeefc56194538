package interop

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// safetensors (huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin,
// end]}} (offsets relative to the data that follows, optional
// "__metadata__" of strings), then the raw little-endian tensor data. The
// header is padded with spaces to a multiple of 8 bytes, as the Python
// writer does, so that the data is aligned.

type safetensorsEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes the state dict sd to w as safetensors, in
// sd.Names order. safetensors has no shared storage, so a tensor under
// several keys (fastai's tied embedding, FastaiStateDict) is written under
// each; the file still loads into fastai's model with load_state_dict.
func WriteSafetensors(w io.Writer, sd *StateDict) error {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt", "source": "ulmfit-go"}}
	var off int64
	for _, k := range sd.Names {
		t, ok := sd.Tensors[k]
		if !ok {
			return fmt.Errorf("interop: state dict lists %q but holds no tensor under it", k)
		}
		n := int64(len(t.Data))
		header[k] = safetensorsEntry{Dtype: "F32", Shape: t.Shape, DataOffsets: [2]int64{off, off + 4*n}}
		off += 4 * n
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("interop: safetensors header: %w", err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	bw := bufio.NewWriter(w)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(js)))
	bw.Write(lenBuf[:])
	bw.Write(js)
	var b [4]byte
	for _, k := range sd.Names {
		for _, v := range sd.Tensors[k].Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("interop: write safetensors: %w", err)
	}
	return nil
}

// SaveSafetensors is WriteSafetensors to the file path.
func SaveSafetensors(path string, sd *StateDict) error {
	return saveFile(path, func(w io.Writer) error { return WriteSafetensors(w, sd) })
}

// ReadSafetensors parses a safetensors file of F32 tensors into a state dict,
// names sorted by data offset. Offsets must lie within the data and the
// tensors must cover it without gaps or overlaps.
func ReadSafetensors(data []byte) (*StateDict, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("interop: safetensors: %d bytes, want at least the 8-byte header length", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("interop: safetensors: header of %d bytes, but only %d follow the length", n, len(data)-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("interop: safetensors header: %w", err)
	}
	body := data[8+n:]
	sd := &StateDict{Tensors: map[string]*Tensor{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("interop: safetensors tensor %q: %w", name, err)
		}
		if e.Dtype != "F32" {
			return nil, fmt.Errorf("interop: safetensors tensor %q has dtype %s, want F32", name, e.Dtype)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("interop: safetensors tensor %q has shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end > int64(len(body)) || end-b != 4*count {
			return nil, fmt.Errorf("interop: safetensors tensor %q: data_offsets %v for shape %v, data of %d bytes", name, e.DataOffsets, e.Shape, len(body))
		}
		t := &Tensor{Shape: e.Shape, Data: make([]float32, count)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[b+4*int64(i):]))
		}
		sd.Tensors[name] = t
		spans = append(spans, span{name, b, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	var at int64
	for _, s := range spans {
		if s.begin != at {
			return nil, fmt.Errorf("interop: safetensors tensor %q starts at byte %d, want %d (the tensors must cover the data in order)", s.name, s.begin, at)
		}
		at = s.end
		sd.Names = append(sd.Names, s.name)
	}
	if at != int64(len(body)) {
		return nil, fmt.Errorf("interop: safetensors: tensors cover %d bytes of %d", at, len(body))
	}
	return sd, nil
}
