package interop

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Reading PyTorch checkpoints in the zip format of torch.save (torch >= 1.6):
// a zip archive whose records are <archive>/data.pkl, the pickled object,
// and <archive>/data/<key>, one raw little-endian storage per key. Each
// tensor in the pickle is a call of torch._utils._rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks), the storage
// a persistent id ('storage', torch.FloatStorage, key, location, numel).

// Tensor is a float32 tensor, contiguous and row-major.
type Tensor struct {
	Shape []int
	Data  []float32
}

// StateDict is a PyTorch state dict: tensors by name, Names in file order.
type StateDict struct {
	Names   []string
	Tensors map[string]*Tensor
}

// Tensor returns the tensor named name, checking its shape; a missing key
// or another shape is an error naming the key.
func (sd *StateDict) Tensor(name string, shape ...int) (*Tensor, error) {
	t, ok := sd.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("interop: state dict has no key %q", name)
	}
	if !equalInts(t.Shape, shape) {
		return nil, fmt.Errorf("interop: state dict key %q has shape %v, want %v", name, t.Shape, shape)
	}
	return t, nil
}

// storageRef is a persistent id of the pickle: a storage record.
type storageRef struct {
	dtype string // the storage class, e.g. FloatStorage
	key   string
	numel int
}

// LoadTorch reads a state dict saved by torch.save in the zip format. A
// checkpoint that wraps the state dict, as fastai's learn.save with the
// optimiser does ({'model': state_dict, 'opt': ...}), is unwrapped.
func LoadTorch(path string) (*StateDict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	sd, err := ReadTorch(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sd, nil
}

// ReadTorch is LoadTorch on the bytes of the file.
func ReadTorch(data []byte) (*StateDict, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if len(data) >= 2 && data[0] == 0x80 {
			return readLegacy(data)
		}
		return nil, fmt.Errorf("interop: torch checkpoint is not a readable zip archive: %w", err)
	}
	files := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		if pkl == nil && (f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl")) && strings.Count(f.Name, "/") <= 1 {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("interop: torch checkpoint has no <archive>/data.pkl record")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	pickled, err := readZipFile(pkl)
	if err != nil {
		return nil, err
	}
	storages := map[string][]float32{}
	u := &unpickler{data: pickled}
	u.persistent = func(pid any) (any, error) {
		t, ok := pid.(Tuple)
		if !ok || len(t) != 5 || t[0] != "storage" {
			return nil, fmt.Errorf("persistent id %v, want ('storage', type, key, location, numel)", pid)
		}
		g, ok1 := t[1].(Global)
		key, ok2 := t[2].(string)
		numel, ok3 := t[4].(int64)
		if !ok1 || !ok2 || !ok3 || numel < 0 || numel > math.MaxInt32 {
			return nil, fmt.Errorf("persistent id %v, want ('storage', type, key, location, numel)", pid)
		}
		return &storageRef{dtype: g.Name, key: key, numel: int(numel)}, nil
	}
	u.reduce = func(g Global, args Tuple) (any, bool, error) {
		switch {
		case g.Module == "torch._utils" && g.Name == "_rebuild_tensor_v2":
			t, err := rebuildTensor(args, func(ref *storageRef) ([]float32, error) {
				if s, ok := storages[ref.key]; ok {
					return s, nil
				}
				s, err := readStorage(files, prefix, ref)
				if err == nil {
					storages[ref.key] = s
				}
				return s, err
			})
			return t, err == nil, err
		case g.Module == "torch._utils" && g.Name == "_rebuild_parameter" && len(args) >= 1:
			t, ok := args[0].(*Tensor)
			return t, ok, nil
		}
		return nil, false, nil
	}
	v, err := u.unpickle()
	if err != nil {
		return nil, fmt.Errorf("interop: %s: %w", pkl.Name, err)
	}
	return stateDict(v, pkl.Name)
}

// stateDict collects the tensors of the state dict v, read from where.
func stateDict(v any, where string) (*StateDict, error) {
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("interop: %s holds a %T, want a state dict", where, v)
	}
	if inner, ok := d.Get("model"); ok {
		if m, ok := inner.(*Dict); ok {
			d = m
		}
	}
	sd := &StateDict{Tensors: map[string]*Tensor{}}
	for i, k := range d.Keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("interop: state dict key %v is a %T, want str", k, k)
		}
		t, ok := d.Values[i].(*Tensor)
		if !ok {
			// Not a tensor (an int buffer's step count, a nested dict): it
			// maps onto no parameter of ours.
			continue
		}
		sd.Names = append(sd.Names, name)
		sd.Tensors[name] = t
	}
	return sd, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("interop: open record %s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("interop: read record %s: %w", f.Name, err)
	}
	return b, nil
}

func readStorage(files map[string]*zip.File, prefix string, ref *storageRef) ([]float32, error) {
	if ref.dtype != "FloatStorage" {
		return nil, fmt.Errorf("storage %q is a %s, want FloatStorage (float32); convert the model with .float() before saving", ref.key, ref.dtype)
	}
	name := prefix + "data/" + ref.key
	f, ok := files[name]
	if !ok {
		return nil, fmt.Errorf("storage %q: no record %s in the archive", ref.key, name)
	}
	b, err := readZipFile(f)
	if err != nil {
		return nil, err
	}
	if len(b) != 4*ref.numel {
		return nil, fmt.Errorf("storage %q: record %s has %d bytes, want 4*%d", ref.key, name, len(b), ref.numel)
	}
	out := make([]float32, ref.numel)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// tensorView is a tensor's place in its storage, as
// torch._utils._rebuild_tensor_v2 gets it.
type tensorView struct {
	ref          *storageRef
	offset       int
	size, stride []int
}

// parseTensorView checks the arguments of _rebuild_tensor_v2(storage,
// storage_offset, size, stride, ...) against the storage's length.
func parseTensorView(args Tuple) (*tensorView, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("%d arguments, want at least 4 (storage, offset, size, stride)", len(args))
	}
	ref, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("storage argument is a %T", args[0])
	}
	offset, ok := args[1].(int64)
	size, err1 := intTuple(args[2])
	stride, err2 := intTuple(args[3])
	if !ok || err1 != nil || err2 != nil || len(size) != len(stride) {
		return nil, fmt.Errorf("storage %q: offset %v, size %v, stride %v, want an int and two int tuples of one length", ref.key, args[1], args[2], args[3])
	}
	n := int64(1)
	for i, d := range size {
		if d < 0 || stride[i] < 0 {
			return nil, fmt.Errorf("storage %q: negative size %v or stride %v", ref.key, size, stride)
		}
		n *= int64(d)
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("storage %q: size %v is too large", ref.key, size)
		}
	}
	// The last element, offset + sum (size_i - 1) stride_i, must lie in the
	// storage; summed a dimension at a time so that nothing overflows.
	last, numel := offset, int64(ref.numel)
	outside := offset < 0 || (n > 0 && offset >= numel)
	for i, d := range size {
		if outside || n == 0 || d < 2 || stride[i] == 0 {
			continue
		}
		if int64(d-1) > (numel-1-last)/int64(stride[i]) {
			outside = true
			break
		}
		last += int64(d-1) * int64(stride[i])
	}
	if outside {
		return nil, fmt.Errorf("storage %q: a view of size %v, stride %v at offset %d does not fit in its %d elements", ref.key, size, stride, offset, ref.numel)
	}
	return &tensorView{ref: ref, offset: int(offset), size: size, stride: stride}, nil
}

// gather copies the view out of storage into t, contiguous.
func (v *tensorView) gather(t *Tensor, storage []float32) {
	idx := make([]int, len(v.size))
	for i := range t.Data {
		at := v.offset
		for k, j := range idx {
			at += j * v.stride[k]
		}
		t.Data[i] = storage[at]
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < v.size[k] {
				break
			}
			idx[k] = 0
		}
	}
}

func newTensor(v *tensorView) *Tensor {
	n := 1
	for _, d := range v.size {
		n *= d
	}
	return &Tensor{Shape: v.size, Data: make([]float32, n)}
}

// rebuildTensor is torch._utils._rebuild_tensor_v2: a view of size and
// stride at offset into a storage, copied out contiguous.
func rebuildTensor(args Tuple, load func(*storageRef) ([]float32, error)) (*Tensor, error) {
	v, err := parseTensorView(args)
	if err != nil {
		return nil, err
	}
	storage, err := load(v.ref)
	if err != nil {
		return nil, err
	}
	t := newTensor(v)
	v.gather(t, storage)
	return t, nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(Tuple)
	if !ok {
		return nil, fmt.Errorf("%T, want a tuple", v)
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("item %d is a %T, want int", i, x)
		}
		out[i] = int(n)
	}
	return out, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
