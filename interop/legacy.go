package interop

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// The legacy format of torch.save (torch < 1.6, or
// _use_new_zipfile_serialization=False; fastai v1's published WikiText-103
// model is one): five pickles back to back (the magic number
// 0x1950a86a20f9469cfc6c, the protocol version 1001, a sys_info dict, the
// object, the sorted list of storage keys), then for each key in that order
// its storage as an 8-byte little-endian element count and the raw
// little-endian elements. A storage's persistent id is ('storage', type,
// key, location, numel, view_metadata).

var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// storageElemSize is the element size of the storage classes, so that
// storages we do not read can be skipped.
var storageElemSize = map[string]int{
	"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
	"ByteStorage": 1, "BoolStorage": 1,
}

func readLegacy(data []byte) (*StateDict, error) {
	pos := 0
	next := func(what string, persistent func(any) (any, error), reduce func(Global, Tuple) (any, bool, error)) (any, error) {
		u := &unpickler{data: data, pos: pos, persistent: persistent, reduce: reduce}
		v, err := u.unpickle()
		if err != nil {
			return nil, fmt.Errorf("interop: legacy torch file, %s: %w", what, err)
		}
		pos = u.pos
		return v, nil
	}
	magic, err := next("magic number", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("interop: neither a zip archive nor a legacy torch file: %w", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, fmt.Errorf("interop: neither a zip archive nor a legacy torch file (magic number %v)", magic)
	}
	if v, err := next("protocol version", nil, nil); err != nil {
		return nil, err
	} else if v != int64(1001) {
		return nil, fmt.Errorf("interop: legacy torch file of protocol version %v, want 1001", v)
	}
	info, err := next("sys_info", nil, nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*Dict); ok {
		if le, ok := d.Get("little_endian"); ok && le != true {
			return nil, fmt.Errorf("interop: legacy torch file written on a big-endian machine")
		}
	}

	refs := map[string]*storageRef{}
	type pending struct {
		t *Tensor
		v *tensorView
	}
	var tensors []pending
	persistent := func(pid any) (any, error) {
		t, ok := pid.(Tuple)
		if !ok || len(t) != 6 || t[0] != "storage" {
			return nil, fmt.Errorf("persistent id %v, want ('storage', type, key, location, numel, view_metadata)", pid)
		}
		g, ok1 := t[1].(Global)
		key, ok2 := t[2].(string)
		numel, ok3 := t[4].(int64)
		if !ok1 || !ok2 || !ok3 || numel < 0 || numel > math.MaxInt32 {
			return nil, fmt.Errorf("persistent id %v, want ('storage', type, key, location, numel, view_metadata)", pid)
		}
		if t[5] != nil {
			return nil, fmt.Errorf("storage %q is a view of another storage (view_metadata %v), which is not supported", key, t[5])
		}
		if ref, ok := refs[key]; ok {
			return ref, nil
		}
		ref := &storageRef{dtype: g.Name, key: key, numel: int(numel)}
		refs[key] = ref
		return ref, nil
	}
	reduce := func(g Global, args Tuple) (any, bool, error) {
		switch {
		case g.Module == "torch._utils" && g.Name == "_rebuild_tensor_v2":
			v, err := parseTensorView(args)
			if err != nil {
				return nil, false, err
			}
			if v.ref.dtype != "FloatStorage" {
				return nil, false, fmt.Errorf("storage %q is a %s, want FloatStorage (float32); convert the model with .float() before saving", v.ref.key, v.ref.dtype)
			}
			t := newTensor(v)
			tensors = append(tensors, pending{t, v})
			return t, true, nil
		case g.Module == "torch._utils" && g.Name == "_rebuild_parameter" && len(args) >= 1:
			t, ok := args[0].(*Tensor)
			return t, ok, nil
		}
		return nil, false, nil
	}
	obj, err := next("object", persistent, reduce)
	if err != nil {
		return nil, err
	}
	keysV, err := next("storage keys", nil, nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*List)
	if !ok {
		return nil, fmt.Errorf("interop: legacy torch file: storage keys are a %T, want a list", keysV)
	}
	storages := map[string][]float32{}
	for _, k := range keys.Items {
		key, _ := k.(string)
		ref, ok := refs[key]
		if !ok {
			return nil, fmt.Errorf("interop: legacy torch file: storage key %v at offset %d is not used by the object", k, pos)
		}
		if pos+8 > len(data) {
			return nil, fmt.Errorf("interop: legacy torch file: storage %q: truncated at offset %d", key, pos)
		}
		count := binary.LittleEndian.Uint64(data[pos:])
		size := storageElemSize[ref.dtype]
		if size == 0 {
			return nil, fmt.Errorf("interop: legacy torch file: storage %q of unknown type %s", key, ref.dtype)
		}
		if count != uint64(ref.numel) || uint64(len(data)-pos-8)/uint64(size) < count {
			return nil, fmt.Errorf("interop: legacy torch file: storage %q at offset %d: %d elements of %d bytes, want %d, %d bytes left", key, pos, count, size, ref.numel, len(data)-pos-8)
		}
		body := data[pos+8 : pos+8+int(count)*size]
		pos += 8 + len(body)
		if ref.dtype != "FloatStorage" {
			continue
		}
		s := make([]float32, count)
		for i := range s {
			s[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		}
		storages[key] = s
	}
	for _, p := range tensors {
		s, ok := storages[p.v.ref.key]
		if !ok {
			return nil, fmt.Errorf("interop: legacy torch file: storage %q is not in the file", p.v.ref.key)
		}
		p.v.gather(p.t, s)
	}
	return stateDict(obj, "legacy torch file")
}
