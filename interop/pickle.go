package interop

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// A reader of Python's pickle format, protocols 2 to 5: the subset of
// opcodes that torch.save and pickle.dump emit for state dicts and lists
// of strings. Objects it cannot build are kept as Object (a callable and its
// arguments), so an unexpected class is reported where it is used rather
// than failing the whole load.

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list; a pointer, because APPEND mutates it after it is
// memoised.
type List struct{ Items []any }

// Dict is a Python dict or OrderedDict, keys in insertion order.
type Dict struct {
	Keys   []any
	Values []any
}

// Get returns the value under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	for i, key := range d.Keys {
		if s, ok := key.(string); ok && s == k {
			return d.Values[i], true
		}
	}
	return nil, false
}

func (d *Dict) set(k, v any) {
	for i, key := range d.Keys {
		if comparable(key) && comparable(k) && key == k {
			d.Values[i] = v
			return
		}
	}
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
}

// Global is a class or function named by the pickle (GLOBAL, STACK_GLOBAL).
type Global struct{ Module, Name string }

// Object is the result of calling a Global the reader does not model.
type Object struct {
	Callable any
	Args     Tuple
	State    any
}

type mark struct{}

// comparable reports whether v can be compared with == without a panic: a
// Tuple or bytes key is kept, not merged, as no state dict has one.
func comparable(v any) bool {
	switch v.(type) {
	case Tuple, []byte:
		return false
	}
	return true
}

// unpickler decodes one pickle. persistent resolves BINPERSID ids and
// reduce builds the objects of the callables it knows; both may be nil.
type unpickler struct {
	data       []byte
	pos        int
	stack      []any
	memo       map[int]any
	persistent func(pid any) (any, error)
	reduce     func(g Global, args Tuple) (any, bool, error)
}

// unpickle decodes data and returns the object it builds.
func (u *unpickler) unpickle() (any, error) {
	u.memo = map[int]any{}
	for {
		if u.pos >= len(u.data) {
			return nil, fmt.Errorf("pickle: unexpected end of data at offset %d (no STOP opcode)", u.pos)
		}
		at := u.pos
		op := u.data[u.pos]
		u.pos++
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle: opcode 0x%02x at offset %d: %w", op, at, err)
		}
		if done {
			if len(u.stack) != 1 {
				return nil, fmt.Errorf("pickle: STOP at offset %d with %d objects on the stack, want 1", at, len(u.stack))
			}
			return u.stack[0], nil
		}
	}
}

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || u.pos+n > len(u.data) {
		return nil, fmt.Errorf("need %d bytes at offset %d, have %d", n, u.pos, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readUint(n int) (uint64, error) {
	b, err := u.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) readLine() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", fmt.Errorf("unterminated line at offset %d", u.pos)
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("pop from an empty stack")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if _, ok := v.(mark); ok {
		return nil, fmt.Errorf("unexpected MARK on the stack")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("empty stack")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items above the topmost MARK and the MARK itself.
func (u *unpickler) popMark() ([]any, error) {
	for i := len(u.stack) - 1; i >= 0; i-- {
		if _, ok := u.stack[i].(mark); ok {
			items := append([]any(nil), u.stack[i+1:]...)
			u.stack = u.stack[:i]
			return items, nil
		}
	}
	return nil, fmt.Errorf("no MARK on the stack")
}

func (u *unpickler) memoGet(i int) error {
	v, ok := u.memo[i]
	if !ok {
		return fmt.Errorf("memo entry %d is not set", i)
	}
	u.push(v)
	return nil
}

func (u *unpickler) memoPut(i int) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) pushString(n int, err error) error {
	if err != nil {
		return err
	}
	b, err := u.read(n)
	if err != nil {
		return err
	}
	u.push(string(b))
	return nil
}

func (u *unpickler) pushBytes(n int, err error) error {
	if err != nil {
		return err
	}
	b, err := u.read(n)
	if err != nil {
		return err
	}
	u.push(append([]byte(nil), b...))
	return nil
}

func (u *unpickler) call(callable any, args Tuple) error {
	if g, ok := callable.(Global); ok {
		if g.Module == "collections" && g.Name == "OrderedDict" && len(args) == 0 {
			u.push(&Dict{})
			return nil
		}
		if u.reduce != nil {
			v, ok, err := u.reduce(g, args)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", g.Module, g.Name, err)
			}
			if ok {
				u.push(v)
				return nil
			}
		}
	}
	u.push(&Object{Callable: callable, Args: args})
	return nil
}

func (u *unpickler) step(op byte) (done bool, err error) {
	n := func(k int) (int, error) {
		v, err := u.readUint(k)
		if err != nil {
			return 0, err
		}
		if v > math.MaxInt32 {
			return 0, fmt.Errorf("length %d is too large", v)
		}
		return int(v), nil
	}
	switch op {
	case 0x80: // PROTO
		_, err = u.read(1)
	case 0x95: // FRAME: frames only group opcodes; the data is read through
		_, err = u.read(8)
	case '.': // STOP
		return true, nil
	case '(': // MARK
		u.push(mark{})
	case '}': // EMPTY_DICT
		u.push(&Dict{})
	case ']': // EMPTY_LIST
		u.push(&List{})
	case ')': // EMPTY_TUPLE
		u.push(Tuple{})
	case 't': // TUPLE
		var items []any
		if items, err = u.popMark(); err == nil {
			u.push(Tuple(items))
		}
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		k := int(op - 0x84)
		if len(u.stack) < k {
			return false, fmt.Errorf("TUPLE%d with %d objects on the stack", k, len(u.stack))
		}
		t := append(Tuple(nil), u.stack[len(u.stack)-k:]...)
		u.stack = u.stack[:len(u.stack)-k]
		u.push(t)
	case 'q': // BINPUT
		var i int
		if i, err = n(1); err == nil {
			err = u.memoPut(i)
		}
	case 'r': // LONG_BINPUT
		var i int
		if i, err = n(4); err == nil {
			err = u.memoPut(i)
		}
	case 0x94: // MEMOIZE
		err = u.memoPut(len(u.memo))
	case 'h': // BINGET
		var i int
		if i, err = n(1); err == nil {
			err = u.memoGet(i)
		}
	case 'j': // LONG_BINGET
		var i int
		if i, err = n(4); err == nil {
			err = u.memoGet(i)
		}
	case 'J': // BININT
		var v uint64
		if v, err = u.readUint(4); err == nil {
			u.push(int64(int32(uint32(v))))
		}
	case 'K': // BININT1
		var v uint64
		if v, err = u.readUint(1); err == nil {
			u.push(int64(v))
		}
	case 'M': // BININT2
		var v uint64
		if v, err = u.readUint(2); err == nil {
			u.push(int64(v))
		}
	case 0x8a: // LONG1: little-endian two's complement
		var k int
		var b []byte
		if k, err = n(1); err == nil {
			b, err = u.read(k)
		}
		if err == nil {
			u.push(decodeLong(b))
		}
	case 'G': // BINFLOAT, big-endian
		var b []byte
		if b, err = u.read(8); err == nil {
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'X': // BINUNICODE
		err = u.pushString(n(4))
	case 0x8c: // SHORT_BINUNICODE
		err = u.pushString(n(1))
	case 0x8d: // BINUNICODE8
		err = u.pushString(n(8))
	case 'B': // BINBYTES
		err = u.pushBytes(n(4))
	case 'C': // SHORT_BINBYTES
		err = u.pushBytes(n(1))
	case 'c': // GLOBAL
		var mod, name string
		if mod, err = u.readLine(); err == nil {
			if name, err = u.readLine(); err == nil {
				u.push(Global{mod, name})
			}
		}
	case 0x93: // STACK_GLOBAL
		var name, mod any
		if name, err = u.pop(); err != nil {
			return false, err
		}
		if mod, err = u.pop(); err != nil {
			return false, err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("STACK_GLOBAL of %T, %T, want two strings", mod, name)
		}
		u.push(Global{ms, ns})
	case 'R', 0x81: // REDUCE, NEWOBJ
		var args, callable any
		if args, err = u.pop(); err != nil {
			return false, err
		}
		if callable, err = u.pop(); err != nil {
			return false, err
		}
		t, ok := args.(Tuple)
		if !ok {
			return false, fmt.Errorf("arguments are a %T, want a tuple", args)
		}
		err = u.call(callable, t)
	case 'b': // BUILD
		var state, obj any
		if state, err = u.pop(); err != nil {
			return false, err
		}
		if obj, err = u.top(); err != nil {
			return false, err
		}
		// A dict's state (an OrderedDict's _metadata) carries nothing we
		// need; another object keeps it for whoever reads it.
		if o, ok := obj.(*Object); ok {
			o.State = state
		}
	case 's': // SETITEM
		var v, k, d any
		if v, err = u.pop(); err != nil {
			return false, err
		}
		if k, err = u.pop(); err != nil {
			return false, err
		}
		if d, err = u.top(); err != nil {
			return false, err
		}
		dict, ok := d.(*Dict)
		if !ok {
			return false, fmt.Errorf("SETITEM on a %T, want a dict", d)
		}
		dict.set(k, v)
	case 'u': // SETITEMS
		var items []any
		var d any
		if items, err = u.popMark(); err != nil {
			return false, err
		}
		if d, err = u.top(); err != nil {
			return false, err
		}
		dict, ok := d.(*Dict)
		if !ok || len(items)%2 != 0 {
			return false, fmt.Errorf("SETITEMS of %d items on a %T, want pairs on a dict", len(items), d)
		}
		for i := 0; i < len(items); i += 2 {
			dict.set(items[i], items[i+1])
		}
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		if op == 'a' {
			var v any
			if v, err = u.pop(); err != nil {
				return false, err
			}
			items = []any{v}
		} else if items, err = u.popMark(); err != nil {
			return false, err
		}
		var l any
		if l, err = u.top(); err != nil {
			return false, err
		}
		list, ok := l.(*List)
		if !ok {
			return false, fmt.Errorf("append to a %T, want a list", l)
		}
		list.Items = append(list.Items, items...)
	case 'Q': // BINPERSID
		var pid any
		if pid, err = u.pop(); err != nil {
			return false, err
		}
		if u.persistent == nil {
			return false, fmt.Errorf("persistent id %v in a pickle that allows none", pid)
		}
		var v any
		if v, err = u.persistent(pid); err == nil {
			u.push(v)
		}
	case '0': // POP
		_, err = u.pop()
	case '1': // POP_MARK
		_, err = u.popMark()
	case '2': // DUP
		var v any
		if v, err = u.top(); err == nil {
			u.push(v)
		}
	default:
		return false, fmt.Errorf("unknown or unsupported opcode")
	}
	return false, err
}

// decodeLong decodes LONG1's little-endian two's complement: an int64 when it
// fits, else a *big.Int.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// ReadPickle decodes a pickle with no persistent ids and no classes but
// dict, OrderedDict, list and tuple.
func ReadPickle(data []byte) (any, error) {
	u := &unpickler{data: data}
	return u.unpickle()
}

// ReadItos decodes a pickled Python list of str, as fastai's itos.pkl.
func ReadItos(data []byte) ([]string, error) {
	v, err := ReadPickle(data)
	if err != nil {
		return nil, fmt.Errorf("interop: itos: %w", err)
	}
	list, ok := v.(*List)
	if !ok {
		return nil, fmt.Errorf("interop: itos: the pickle holds a %T, want a list of str", v)
	}
	out := make([]string, len(list.Items))
	for i, it := range list.Items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("interop: itos: item %d is a %T, want str", i, it)
		}
		out[i] = s
	}
	return out, nil
}
