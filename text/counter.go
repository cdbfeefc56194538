package text

import (
	"hash/maphash"
)

// Counter counts tokens over any number of token streams (fastai's
// Counter(p for o in tokens for p in o)). The zero value is ready to use. A
// Counter is not safe for concurrent use: count in one Counter per goroutine
// and Merge them.
//
// Counting is the hot loop of vocabulary building (one lookup per token of
// the corpus, in a table of a few hundred thousand distinct tokens), so the
// table is a flat open-addressing hash table rather than a Go map: one probe
// of an 8-byte slot, then one comparison against the token bytes, which sit
// in one arena in order of first appearance, so frequent tokens share cache
// lines.
type Counter struct {
	seed   maphash.Seed
	slots  []uint64 // empty (0) or hash<<32 | position+1; power-of-two length
	arena  []byte   // the distinct tokens' bytes, concatenated
	ends   []int    // token i is arena[start(i):ends[i]]
	counts []int64
}

func (c *Counter) token(i int) []byte {
	start := 0
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.arena[start:c.ends[i]]
}

// Add counts each token of one stream.
func (c *Counter) Add(tokens []string) {
	for _, tok := range tokens {
		c.AddN(tok, 1)
	}
}

// AddN adds n to the count of tok.
func (c *Counter) AddN(tok string, n int64) {
	c.counts[c.find(maphash.String(c.init(), tok), tok)] += n
}

// addBytes counts one token given as bytes and returns its position (the
// order of first appearance).
func (c *Counter) addBytes(tok []byte) int32 {
	i := c.find(maphash.Bytes(c.init(), tok), string(tok))
	c.counts[i]++
	return int32(i)
}

func (c *Counter) init() maphash.Seed {
	if c.slots == nil {
		c.seed = maphash.MakeSeed()
		c.slots = make([]uint64, 1024)
	}
	return c.seed
}

// find returns the position of tok, whose hash is h, inserting it with count 0
// if it is new. tok may alias a caller's buffer: find copies it on insertion.
func (c *Counter) find(h uint64, tok string) int {
	tag := h >> 32
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := c.slots[i]
		if s == 0 {
			pos := len(c.counts)
			c.arena = append(c.arena, tok...)
			c.ends = append(c.ends, len(c.arena))
			c.counts = append(c.counts, 0)
			c.slots[i] = tag<<32 | uint64(pos+1)
			if 2*len(c.counts) > len(c.slots) {
				c.grow()
			}
			return pos
		}
		if s>>32 == tag {
			pos := int(uint32(s)) - 1
			if string(c.token(pos)) == tok {
				return pos
			}
		}
	}
}

// grow doubles the table, keeping the load under one half.
func (c *Counter) grow() {
	c.slots = make([]uint64, 2*len(c.slots))
	mask := uint64(len(c.slots) - 1)
	for pos := range c.counts {
		h := maphash.Bytes(c.seed, c.token(pos))
		i := h & mask
		for c.slots[i] != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = h>>32<<32 | uint64(pos+1)
	}
}

// Merge adds the counts of o to c.
func (c *Counter) Merge(o *Counter) {
	c.init()
	for pos, n := range o.counts {
		tok := o.token(pos)
		c.counts[c.find(maphash.Bytes(c.seed, tok), string(tok))] += n
	}
}

// Count returns how many times tok was counted.
func (c *Counter) Count(tok string) int64 {
	if c.slots == nil {
		return 0
	}
	h := maphash.String(c.seed, tok)
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := c.slots[i]
		if s == 0 {
			return 0
		}
		if s>>32 == h>>32 && string(c.token(int(uint32(s))-1)) == tok {
			return c.counts[int(uint32(s))-1]
		}
	}
}

// Len returns the number of distinct tokens counted.
func (c *Counter) Len() int { return len(c.counts) }

// Total returns the number of tokens counted.
func (c *Counter) Total() int64 {
	var n int64
	for _, k := range c.counts {
		n += k
	}
	return n
}

// All calls yield with each distinct token and its count, in order of first
// appearance, until yield returns false.
func (c *Counter) All(yield func(tok string, count int64) bool) {
	for pos, n := range c.counts {
		if !yield(string(c.token(pos)), n) {
			return
		}
	}
}
