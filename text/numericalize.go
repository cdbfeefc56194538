package text

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
)

// Docs is a stream of documents, each given as its fields (one for most
// corpora; title and description for AG News), with an error where reading
// failed. The stream may reuse its slice between documents.
type Docs = iter.Seq2[[]string, error]

// Stats describes a numericalised corpus.
type Stats struct {
	Docs    int64 // documents
	Tokens  int64 // tokens, the xxbos of each document included
	Unknown int64 // tokens that became xxunk (other than a literal "xxunk")
}

// Numericalize tokenises docs with tok, maps the tokens to ids with v and
// writes them as a corpus at path (see CreateCorpus), in the documents'
// order. It runs one worker per core and streams: memory holds a few batches
// of documents, never the whole corpus. Nothing is written at path unless it
// succeeds.
func Numericalize(tok *Tokenizer, v *Vocab, docs Docs, path string) (Stats, error) {
	return NumericalizeContext(context.Background(), tok, v, docs, path)
}

// NumericalizeContext is Numericalize, stopping early when ctx is done.
func NumericalizeContext(ctx context.Context, tok *Tokenizer, v *Vocab, docs Docs, path string) (Stats, error) {
	w, err := CreateCorpus(path, v)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	type ids struct {
		flat    []int32 // the batch's ids, documents concatenated
		lens    []int   // tokens per document
		unknown int64
	}
	work := func(_ int, sc *scratch, batch [][]string) ids {
		out := ids{flat: idPool.get()}
		for _, fields := range batch {
			tok.process(sc, fields)
			n := len(out.flat)
			for _, r := range sc.refs {
				id := r.special
				if id < 0 {
					b := sc.arena[r.start:r.end]
					if id = v.idBytes(b); id == UnkID && string(b) != UnkToken {
						out.unknown++
					}
				}
				out.flat = append(out.flat, id)
			}
			out.lens = append(out.lens, len(out.flat)-n)
		}
		return out
	}
	sink := func(out ids) error {
		flat := out.flat
		for _, n := range out.lens {
			if err := w.Add(flat[:n]); err != nil {
				return err
			}
			flat = flat[n:]
		}
		st.Docs += int64(len(out.lens))
		st.Tokens += int64(len(out.flat))
		st.Unknown += out.unknown
		idPool.put(out.flat)
		return nil
	}
	if err := runOrdered(ctx, runtime.GOMAXPROCS(0), docs, work, sink); err != nil {
		w.Abort()
		return Stats{}, err
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// CountTokens tokenises docs with tok, one worker per core, and counts the
// tokens (the input of BuildVocab). No token strings are kept beyond one per
// distinct token.
func CountTokens(ctx context.Context, tok *Tokenizer, docs Docs) (*Counter, error) {
	workers := runtime.GOMAXPROCS(0)
	counters := make([]Counter, workers) // one per worker, merged at the end
	work := func(worker int, sc *scratch, batch [][]string) struct{} {
		c := &counters[worker]
		for _, fields := range batch {
			tok.process(sc, fields)
			for _, r := range sc.refs {
				if r.special >= 0 {
					c.AddN(specialTokens[r.special], 1)
				} else {
					c.addBytes(sc.arena[r.start:r.end])
				}
			}
		}
		return struct{}{}
	}
	if err := runOrdered(ctx, workers, docs, work, func(struct{}) error { return nil }); err != nil {
		return nil, err
	}
	total := new(Counter)
	for i := range counters {
		total.Merge(&counters[i])
	}
	return total, nil
}

// BuildCorpus does in one tokenisation pass what CountTokens, BuildVocab
// and Numericalize do in two: it tokenises docs (one worker per core),
// counts the tokens, builds the vocabulary with o, and writes the corpus at
// path in the documents' order. Meanwhile each worker numbers the tokens it
// meets in its own provisional vocabulary, and those ids wait in a temporary
// file beside path (4 bytes a token) until the vocabulary is known and they
// are mapped to it.
func BuildCorpus(ctx context.Context, tok *Tokenizer, docs Docs, path string, o VocabOptions) (*Vocab, Stats, error) {
	workers := runtime.GOMAXPROCS(0)
	if workers > 255 {
		workers = 255 // the worker index is one byte in the provisional file
	}
	local := make([]Counter, workers)              // each worker's provisional vocabulary
	specials := make([][numSpecial]int64, workers) // and its special-token counts
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".prov*")
	if err != nil {
		return nil, Stats{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	buf := bufio.NewWriterSize(tmp, 1<<20)

	type provisional struct {
		worker int
		flat   []uint32 // ids: < numSpecial a special token, else numSpecial + local id
		lens   []int
	}
	work := func(worker int, sc *scratch, batch [][]string) provisional {
		c := &local[worker]
		out := provisional{worker: worker, flat: provisionalPool.get()}
		for _, fields := range batch {
			tok.process(sc, fields)
			n := len(out.flat)
			for _, r := range sc.refs {
				if r.special >= 0 {
					specials[worker][r.special]++
					out.flat = append(out.flat, uint32(r.special))
				} else {
					out.flat = append(out.flat, uint32(numSpecial)+uint32(c.addBytes(sc.arena[r.start:r.end])))
				}
			}
			out.lens = append(out.lens, len(out.flat)-n)
		}
		return out
	}
	var rec []byte
	sink := func(p provisional) error {
		flat := p.flat
		for _, n := range p.lens {
			rec = append(rec[:0], byte(p.worker))
			rec = binary.AppendUvarint(rec, uint64(n))
			for _, id := range flat[:n] {
				rec = binary.LittleEndian.AppendUint32(rec, id)
			}
			if _, err := buf.Write(rec); err != nil {
				return fmt.Errorf("write %s: %w", tmp.Name(), err)
			}
			flat = flat[n:]
		}
		provisionalPool.put(p.flat)
		return nil
	}
	if err := runOrdered(ctx, workers, docs, work, sink); err != nil {
		return nil, Stats{}, err
	}
	if err := buf.Flush(); err != nil {
		return nil, Stats{}, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}

	total := new(Counter)
	for w := range local {
		total.Merge(&local[w])
		for id, n := range specials[w] {
			if n > 0 {
				total.AddN(specialTokens[id], n)
			}
		}
	}
	v, err := BuildVocab(total, o)
	if err != nil {
		return nil, Stats{}, err
	}
	// Per worker, provisional id -> final id, or -1 for a token that is
	// out of the vocabulary (and becomes xxunk).
	remap := make([][]int32, workers)
	for w := range local {
		m := make([]int32, int(numSpecial)+local[w].Len())
		for id := range numSpecial {
			m[id] = id
		}
		for pos := range local[w].counts {
			t := local[w].token(pos)
			id := v.idBytes(t)
			if id == UnkID && string(t) != UnkToken {
				id = -1
			}
			m[int(numSpecial)+pos] = id
		}
		remap[w] = m
		local[w] = Counter{}
	}
	st, err := remapProvisional(tmp, remap, v, path)
	if err != nil {
		return nil, Stats{}, err
	}
	return v, st, nil
}

// remapProvisional reads the provisional file written by BuildCorpus and
// writes the corpus with every id mapped to the final vocabulary.
func remapProvisional(tmp *os.File, remap [][]int32, v *Vocab, path string) (Stats, error) {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Stats{}, err
	}
	w, err := CreateCorpus(path, v)
	if err != nil {
		return Stats{}, err
	}
	r := bufio.NewReaderSize(tmp, 1<<20)
	var st Stats
	var ids []int32
	var raw []byte
	for {
		worker, err := r.ReadByte()
		if err == io.EOF {
			break
		}
		n, err2 := binary.ReadUvarint(r)
		if err != nil || err2 != nil || int(worker) >= len(remap) || n > 1<<40 {
			w.Abort()
			return Stats{}, fmt.Errorf("read %s: corrupt provisional record (%v, %v)", tmp.Name(), err, err2)
		}
		raw = slices.Grow(raw[:0], int(4*n))[:4*n]
		if _, err := io.ReadFull(r, raw); err != nil {
			w.Abort()
			return Stats{}, fmt.Errorf("read %s: %w", tmp.Name(), err)
		}
		m := remap[worker]
		ids = ids[:0]
		for i := 0; i < len(raw); i += 4 {
			p := binary.LittleEndian.Uint32(raw[i:])
			if int(p) >= len(m) {
				w.Abort()
				return Stats{}, fmt.Errorf("read %s: provisional id %d of worker %d is out of range", tmp.Name(), p, worker)
			}
			id := m[p]
			if id < 0 {
				id = UnkID
				st.Unknown++
			}
			ids = append(ids, id)
		}
		if err := w.Add(ids); err != nil {
			w.Abort()
			return Stats{}, err
		}
		st.Docs++
		st.Tokens += int64(n)
	}
	if err := w.Close(); err != nil {
		return Stats{}, err
	}
	return st, nil
}

// bufferPool recycles the id buffers of batches, which would otherwise be
// garbage at the rate of a few bytes per token.
type bufferPool[T any] struct{ pool sync.Pool }

func (p *bufferPool[T]) get() []T {
	if b, ok := p.pool.Get().(*[]T); ok {
		return (*b)[:0]
	}
	return nil
}

func (p *bufferPool[T]) put(b []T) { p.pool.Put(&b) }

var (
	idPool          bufferPool[int32]
	provisionalPool bufferPool[uint32]
)

// Batching: documents travel to the workers in batches of about batchBytes
// of text (at most batchDocs documents), and at most inFlight batches per
// worker exist at once, which bounds memory whatever the corpus size.
const (
	batchDocs  = 256
	batchBytes = 256 << 10
	inFlight   = 4
)

// runOrdered reads docs in one goroutine, runs work on batches of them in
// the given number of workers (each with its index and its own scratch
// buffers) and hands the results to sink in the documents' order, in the
// calling goroutine. It stops at the first error: from reading, from sink,
// or ctx.
func runOrdered[R any](ctx context.Context, workers int, docs Docs, work func(int, *scratch, [][]string) R, sink func(R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		seq  int
		docs [][]string
		out  R
	}
	jobs := make(chan *batch, workers)
	results := make(chan *batch, workers)
	slots := make(chan struct{}, inFlight*workers)

	var readErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(jobs)
		cur, size, seq, n := &batch{}, 0, 0, 0
		send := func() bool {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			cur.seq = seq
			seq++
			select {
			case jobs <- cur:
			case <-ctx.Done():
				return false
			}
			cur, size = &batch{}, 0
			return true
		}
		for fields, err := range docs {
			if err != nil {
				readErr = fmt.Errorf("document %d: %w", n, err)
				cancel()
				return
			}
			n++
			cur.docs = append(cur.docs, slices.Clone(fields))
			for _, f := range fields {
				size += len(f)
			}
			if (len(cur.docs) >= batchDocs || size >= batchBytes) && !send() {
				return
			}
		}
		if len(cur.docs) > 0 {
			send()
		}
	}()

	var wg sync.WaitGroup
	for worker := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := new(scratch)
			for b := range jobs {
				if ctx.Err() != nil {
					continue
				}
				b.out = work(worker, sc, b.docs)
				b.docs = nil
				select {
				case results <- b:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var sinkErr error
	pending := map[int]*batch{}
	next := 0
	for b := range results {
		if sinkErr != nil || ctx.Err() != nil {
			continue
		}
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-slots
			if err := sink(b.out); err != nil {
				sinkErr = err
				cancel()
				break
			}
		}
	}
	<-readDone
	switch {
	case readErr != nil:
		return readErr
	case sinkErr != nil:
		return sinkErr
	}
	return ctx.Err()
}
