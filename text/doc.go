// Package text turns raw documents into what ULMFiT's models read: fastai
// tokens, a vocabulary, and numericalised corpora on disk.
//
// # Tokenisation
//
// Tokenizer reproduces fastai's tokenisation for ULMFiT (Howard & Ruder 2018;
// fastai v1 text/transform.py, whose rules the paper's scripts used in fastai
// 0.7): spaCy-style English word splitting wrapped in fastai's rules, in
// fastai's order: fix_html, replace_rep (xxrep), word splitting,
// replace_wrep (xxwrep), replace_all_caps (xxup), deal_caps (xxmaj) and
// lower-casing, and xxbos / "xxfld k" around each document. The special
// tokens take ids 0..8 in every vocabulary: xxunk xxpad xxbos xxeos xxfld
// xxmaj xxup xxrep xxwrep.
//
//	tok := text.NewTokenizer(text.Options{})
//	tok.Tokenize("I didn't like it.<br />SO boring!!!!")
//	// xxbos i did n't like it . xxup so boring xxrep 4 !
//
// Where fastai's behaviour is an accident of its regular expressions the
// tokeniser does the sensible thing and says so in the rule's comment:
// "&amp;" is "&" (fastai: "&&"), a word repeated at the very end of a text
// still counts as repeated, xxwrep counts copies rather than
// whitespace-separated pieces, and URLs and hyphenated words stay whole.
// Newlines are white space, never tokens. Invalid UTF-8 becomes U+FFFD.
//
// # Vocabulary
//
// A Counter counts token streams; BuildVocab keeps the special tokens, then
// the most frequent tokens seen at least twice, at most 60,000 in all (the
// paper's settings), ordered by descending count with ties in byte order, so
// equal counts always give the same ids. Vocab.Hash identifies a
// vocabulary's content. A vocabulary file is a header line
// "ulmfit-vocab v1 <count> <hash>" and one "<token>\t<count>" line per id.
//
// # Numericalised corpora
//
// A corpus file (written by CorpusWriter, read by OpenCorpus) holds the
// token ids of many documents: a header (magic "ULMCORP1", version, id
// width, vocabulary size and hash, document and token counts, CRC-32C
// checksums), the document offsets, then the ids as little-endian uint16
// (vocabularies up to 65,536 tokens) or int32. Reading memory-maps the file
// and checks it whole before use. Corpus.Stream gives all tokens as one
// sequence for language-model training; Corpus.Doc gives one document for
// classification.
//
// BuildCorpus tokenises a stream of documents once, on every core, and
// writes the corpus with a vocabulary built from it; Numericalize does the
// same with a given vocabulary (a pretrained model's). Both stream: memory
// holds a few batches of documents, never the corpus, and the output appears
// only when complete.
//
// # Subwords
//
// MultiFiT (Eisenschlos et al. 2019) replaces ULMFiT's word vocabulary with
// SentencePiece subwords. TrainSubword learns a byte-pair-encoding model from
// word counts; a Tokenizer with Options.Subword set cuts every word into
// pieces ("▁over" "con" "f" "ident") after fastai's rules, and the rest of
// the pipeline is unchanged. With SubwordOptions.Exact a size the counts
// cannot reach is a SubwordSizeError giving the most they allow, as
// SentencePiece's "Vocabulary size too high" is. Save and LoadSubword keep a
// model in a file; Merges and NewSubword carry it inside another (an export
// bundle's tokeniser settings).
package text
