package interop

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
)

// Writing PyTorch checkpoints as torch.save does (torch >= 1.6, checked
// against torch 1.13's output): a zip archive of uncompressed records
//
//	archive/data.pkl   the pickled object, protocol 2
//	archive/data/<id>  one raw little-endian float32 storage per tensor
//	archive/version    "3\n"
//
// each record's data aligned to 64 bytes with a padding extra field ("FB")
// in its local header, as PyTorch's stream writer does so that storages can
// be memory-mapped. A state dict pickles as an OrderedDict whose values are
// torch._utils._rebuild_tensor_v2(pid, 0, size, stride, False,
// OrderedDict()), pid the persistent id ('storage', torch.FloatStorage,
// '<id>', 'cpu', numel). Keys that hold the same *Tensor share one storage,
// as tied parameters do in PyTorch.

// torchArchive is the records' folder. torch names it after the file; its
// reader takes whatever folder the first record is in.
const torchArchive = "archive"

// torchAlign is the alignment of record data in PyTorch's zip writer.
const torchAlign = 64

// WriteTorch writes sd to w in torch.save's zip format, so that
// torch.load(path) returns an OrderedDict of float32 CPU tensors under sd's
// names, in sd.Names order.
func WriteTorch(w io.Writer, sd *StateDict) error {
	return writeTorchObject(w, sd)
}

// SaveTorch is WriteTorch to the file path.
func SaveTorch(path string, sd *StateDict) error {
	return saveFile(path, func(w io.Writer) error { return WriteTorch(w, sd) })
}

// saveFile writes path through write, naming the file in any error.
func saveFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeTorchObject writes the pickle-able value v (see pickler.value) and
// the storages of its tensors as a torch.save zip archive.
func writeTorchObject(w io.Writer, v any) error {
	p := &pickler{storageID: map[*Tensor]int{}}
	p.buf.Write([]byte{0x80, 2}) // PROTO 2
	if err := p.value(v); err != nil {
		return err
	}
	p.buf.WriteByte('.') // STOP

	cw := &countingWriter{w: w}
	zw := zip.NewWriter(cw)
	record := func(name string, data []byte) error {
		// The zip writer buffers; flushed, cw.n is where this record's local
		// header starts: 30 fixed bytes, the name, then the extra field.
		if err := zw.Flush(); err != nil {
			return err
		}
		name = torchArchive + "/" + name
		start := cw.n + 30 + int64(len(name)) + 4
		pad := (torchAlign - start%torchAlign) % torchAlign
		extra := make([]byte, 4+pad)
		copy(extra, "FB")
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		h := &zip.FileHeader{
			Name:               name,
			Method:             zip.Store,
			CRC32:              crc32.ChecksumIEEE(data),
			CompressedSize64:   uint64(len(data)),
			UncompressedSize64: uint64(len(data)),
			Extra:              extra,
		}
		rw, err := zw.CreateRaw(h)
		if err != nil {
			return err
		}
		_, err = rw.Write(data)
		return err
	}
	if err := record("data.pkl", p.buf.Bytes()); err != nil {
		return fmt.Errorf("interop: write torch checkpoint: %w", err)
	}
	for id, t := range p.storages {
		data := make([]byte, 4*len(t.Data))
		for i, x := range t.Data {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
		if err := record(fmt.Sprintf("data/%d", id), data); err != nil {
			return fmt.Errorf("interop: write torch checkpoint: %w", err)
		}
	}
	if err := record("version", []byte("3\n")); err != nil {
		return fmt.Errorf("interop: write torch checkpoint: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("interop: write torch checkpoint: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// pickler writes the protocol-2 pickle of a torch.save'd object, collecting
// the tensors' storages in order of first use.
type pickler struct {
	buf       bytes.Buffer
	storages  []*Tensor
	storageID map[*Tensor]int
}

// value pickles v: nil, bool, int, int64, float64, string, Global, Tuple, *List,
// *Dict (a dict), *StateDict (an OrderedDict of tensors) or *Tensor.
func (p *pickler) value(v any) error {
	switch v := v.(type) {
	case nil:
		p.buf.WriteByte('N')
	case bool:
		if v {
			p.buf.WriteByte(0x88) // NEWTRUE
		} else {
			p.buf.WriteByte(0x89) // NEWFALSE
		}
	case int:
		p.int(int64(v))
	case int64:
		p.int(v)
	case float64:
		p.buf.WriteByte('G')
		binary.Write(&p.buf, binary.BigEndian, v)
	case string:
		p.string(v)
	case Global:
		p.global(v.Module, v.Name)
	case Tuple:
		p.buf.WriteByte('(')
		for _, x := range v {
			if err := p.value(x); err != nil {
				return err
			}
		}
		p.buf.WriteByte('t')
	case *List:
		p.buf.WriteByte(']')
		if len(v.Items) > 0 {
			p.buf.WriteByte('(')
			for _, x := range v.Items {
				if err := p.value(x); err != nil {
					return err
				}
			}
			p.buf.WriteByte('e') // APPENDS
		}
	case *Dict:
		p.buf.WriteByte('}')
		return p.items(v.Keys, v.Values)
	case *StateDict:
		p.global("collections", "OrderedDict")
		p.buf.WriteString(")R") // OrderedDict()
		keys, values := make([]any, len(v.Names)), make([]any, len(v.Names))
		for i, name := range v.Names {
			t, ok := v.Tensors[name]
			if !ok {
				return fmt.Errorf("interop: state dict lists %q but holds no tensor under it", name)
			}
			keys[i], values[i] = name, t
		}
		return p.items(keys, values)
	case *Tensor:
		return p.tensor(v)
	default:
		return fmt.Errorf("interop: cannot pickle a %T", v)
	}
	return nil
}

// items adds keys and values to the dict on top of the stack (SETITEMS).
func (p *pickler) items(keys, values []any) error {
	if len(keys) == 0 {
		return nil
	}
	p.buf.WriteByte('(')
	for i, k := range keys {
		if err := p.value(k); err != nil {
			return err
		}
		if err := p.value(values[i]); err != nil {
			return err
		}
	}
	p.buf.WriteByte('u')
	return nil
}

// tensor pickles t as a contiguous view of its whole storage.
func (p *pickler) tensor(t *Tensor) error {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	if n != len(t.Data) {
		return fmt.Errorf("interop: tensor of shape %v holds %d values, want %d", t.Shape, len(t.Data), n)
	}
	id, ok := p.storageID[t]
	if !ok {
		id = len(p.storages)
		p.storageID[t] = id
		p.storages = append(p.storages, t)
	}
	stride := make(Tuple, len(t.Shape))
	size := make(Tuple, len(t.Shape))
	s := 1
	for i := len(t.Shape) - 1; i >= 0; i-- {
		size[i], stride[i] = t.Shape[i], s
		s *= t.Shape[i]
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte('(')
	p.value(Tuple{"storage", Global{"torch", "FloatStorage"}, fmt.Sprint(id), "cpu", len(t.Data)})
	p.buf.WriteByte('Q') // BINPERSID
	p.int(0)
	p.value(size)
	p.value(stride)
	p.value(false)
	p.global("collections", "OrderedDict")
	p.buf.WriteString(")R") // backward hooks: OrderedDict()
	p.buf.WriteString("tR")
	return nil
}

func (p *pickler) global(module, name string) {
	p.buf.WriteByte('c')
	p.buf.WriteString(module + "\n" + name + "\n")
}

func (p *pickler) string(s string) {
	p.buf.WriteByte('X') // BINUNICODE
	binary.Write(&p.buf, binary.LittleEndian, uint32(len(s)))
	p.buf.WriteString(s)
}

func (p *pickler) int(v int64) {
	switch {
	case v >= 0 && v < 1<<8:
		p.buf.WriteByte('K')
		p.buf.WriteByte(byte(v))
	case v >= 0 && v < 1<<16:
		p.buf.WriteByte('M')
		binary.Write(&p.buf, binary.LittleEndian, uint16(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.buf.WriteByte('J')
		binary.Write(&p.buf, binary.LittleEndian, int32(v))
	default:
		p.buf.WriteByte(0x8a) // LONG1: 8 bytes, two's complement
		p.buf.WriteByte(8)
		binary.Write(&p.buf, binary.LittleEndian, v)
	}
}

// WriteItos writes the vocabulary itos (tokens in id order) as fastai's
// itos.pkl does: a pickled list of str.
func WriteItos(w io.Writer, itos []string) error {
	items := make([]any, len(itos))
	for i, tok := range itos {
		items[i] = tok
	}
	p := &pickler{}
	p.buf.Write([]byte{0x80, 2})
	if err := p.value(&List{Items: items}); err != nil {
		return err
	}
	p.buf.WriteByte('.')
	_, err := w.Write(p.buf.Bytes())
	return err
}

// SaveItos is WriteItos to the file path.
func SaveItos(path string, itos []string) error {
	return saveFile(path, func(w io.Writer) error { return WriteItos(w, itos) })
}
