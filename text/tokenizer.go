package text

import (
	"slices"
	"strconv"
	"sync"
	"unsafe"
)

// Options changes the tokeniser from fastai's defaults. The zero value is
// fastai v1's tokenisation as used for ULMFiT (see Tokenizer).
type Options struct {
	// MarkSingleField writes "xxfld 1" before the only field of a
	// one-field document too, as the authors' fastai 0.7 scripts
	// (imdb_scripts/create_toks.py) did. By default fields are marked only
	// when a document has two or more (fastai v1's mark_fields).
	MarkSingleField bool

	// AddEOS ends every document with xxeos (fastai v1's include_eos). Off
	// by default: ULMFiT's language models see documents separated by xxbos.
	AddEOS bool

	// Subword, when set, cuts every word into subword pieces after fastai's
	// rules, as MultiFiT does ("▁the", "▁mov" "ie"; see TrainSubword). The
	// special tokens stay whole. Nil (the default) keeps ULMFiT's words.
	Subword *Subword
}

// Tokenizer turns raw documents into fastai tokens, applying fastai's rules
// in fastai's order (fastai v1 text/transform.py, the paper's "Tokenisation"):
//
//  1. fix_html: HTML and WikiText clean-up (see fixHTML);
//  2. replace_rep: "xxrep n c" for a character repeated 4+ times;
//  3. word splitting in spaCy's English style, which also gives fastai's
//     spec_add_spaces ("/" and "#" split) and rm_useless_spaces (whitespace
//     collapsed, never inside a token) (see splitWords);
//  4. replace_wrep: "xxwrep n w" for a word repeated 4+ times (fastai applies
//     it to the text before splitting; here it runs on the words, which gives
//     the same tokens without the regex's quirks);
//  5. replace_all_caps and deal_caps: "xxup" before an ALL-CAPS token,
//     "xxmaj" before a Capitalised one, then lower-casing (see caseMarker);
//  6. xxbos before each document and "xxfld k" before field k of a
//     multi-field document (fastai v1's _join_texts).
//
// A Tokenizer is immutable and safe for concurrent use: run one goroutine per
// core over the same Tokenizer.
type Tokenizer struct {
	opts    Options
	scratch sync.Pool // of *scratch
}

// NewTokenizer returns a tokeniser with the given options.
func NewTokenizer(o Options) *Tokenizer {
	t := &Tokenizer{opts: o}
	t.scratch.New = func() any { return new(scratch) }
	return t
}

// Options returns the options t was made with.
func (t *Tokenizer) Options() Options { return t.opts }

// Tokenize returns the tokens of one document made of the given fields (one
// field for most corpora; title and description for AG News). The first
// token is xxbos.
func (t *Tokenizer) Tokenize(fields ...string) []string {
	return t.AppendTokens(nil, fields...)
}

// AppendTokens appends the tokens of one document to dst and returns the
// extended slice. The new tokens share one allocation, so a caller that
// reuses dst allocates about once per document.
func (t *Tokenizer) AppendTokens(dst []string, fields ...string) []string {
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	t.process(sc, fields)
	text := string(sc.arena)
	for _, r := range sc.refs {
		if r.special >= 0 {
			dst = append(dst, specialTokens[r.special])
		} else {
			dst = append(dst, text[r.start:r.end])
		}
	}
	return dst
}

// scratch holds one goroutine's working buffers, reused across documents.
type scratch struct {
	clean []byte     // a field after fix_html
	rep   []byte     // then after replace_rep
	words []string   // then split into words (substrings of rep)
	arena []byte     // the document's final token text, lower-cased
	refs  []tokenRef // the document's tokens

	subword *Subword         // the tokenizer's subword model, or nil
	pieces  map[string][]int // recent words' piece ends, for subword
}

// maxPieceCache bounds the per-goroutine cache of segmented words.
const maxPieceCache = 1 << 16

// tokenRef is one output token: a special token, or arena[start:end].
type tokenRef struct {
	special    int32 // a special token id, or -1
	start, end int
}

func (sc *scratch) addSpecial(id int32) {
	sc.refs = append(sc.refs, tokenRef{special: id})
}

func (sc *scratch) addNumber(n int) {
	start := len(sc.arena)
	if sc.subword != nil {
		sc.arena = append(sc.arena, WordBoundary...)
	}
	sc.arena = strconv.AppendInt(sc.arena, int64(n), 10)
	sc.addText(start)
}

// addWord adds a word after fastai's case rules: its marker, if any, then the
// word lower-cased.
func (sc *scratch) addWord(w string) {
	if sc.subword != nil && isSpecialToken(w) {
		// xxrep from replace_rep, or a special token spelled in the text:
		// kept whole, as SentencePiece keeps fastai's user-defined symbols.
		sc.addSpecial(int32(slices.Index(specialTokens[:], w)))
		return
	}
	if m := caseMarker(w); m >= 0 {
		sc.addSpecial(m)
	}
	start := len(sc.arena)
	if sc.subword != nil {
		sc.arena = append(sc.arena, WordBoundary...)
	}
	sc.arena = appendLower(sc.arena, w)
	sc.addText(start)
}

// addText adds arena[start:] as one token, or as its subword pieces.
func (sc *scratch) addText(start int) {
	if sc.subword == nil {
		sc.refs = append(sc.refs, tokenRef{special: -1, start: start, end: len(sc.arena)})
		return
	}
	w := sc.arena[start:]
	ends, ok := sc.pieces[string(w)]
	if !ok {
		ends = sc.subword.appendBoundaries(nil, string(w))
		if sc.pieces == nil {
			sc.pieces = map[string][]int{}
		}
		// Once full the cache keeps what it has: the words met first in a
		// corpus are mostly its frequent ones.
		if len(sc.pieces) < maxPieceCache {
			sc.pieces[string(w)] = ends
		}
	}
	from := start
	for _, end := range ends {
		sc.refs = append(sc.refs, tokenRef{special: -1, start: from, end: start + end})
		from = start + end
	}
}

// process tokenises one document into sc.refs and sc.arena.
func (t *Tokenizer) process(sc *scratch, fields []string) {
	sc.arena = sc.arena[:0]
	sc.refs = sc.refs[:0]
	if sc.subword != t.opts.Subword {
		sc.subword = t.opts.Subword
		clear(sc.pieces)
	}
	sc.addSpecial(BOSID)
	markFields := len(fields) > 1 || t.opts.MarkSingleField
	for k, f := range fields {
		if markFields {
			sc.addSpecial(FieldID)
			sc.addNumber(k + 1)
		}
		sc.clean = fixHTML(sc.clean[:0], f)
		sc.rep = replaceRep(sc.rep[:0], sc.clean)
		// The words are substrings of sc.rep, which is not touched again
		// until they have been copied into the arena.
		s := unsafe.String(unsafe.SliceData(sc.rep), len(sc.rep))
		sc.words = splitWords(sc.words[:0], s)
		words := sc.words
		for i := 0; i < len(words); {
			if n, span, trailing := wordRepeat(words[i:]); n > 0 {
				sc.addSpecial(WRepID)
				sc.addNumber(n)
				sc.addWord(words[i])
				if trailing {
					sc.addWord(words[i+span-1])
				}
				i += span
				continue
			}
			sc.addWord(words[i])
			i++
		}
		clear(sc.words) // drop references into sc.rep
	}
	if t.opts.AddEOS {
		sc.addSpecial(EOSID)
	}
}
