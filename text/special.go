package text

// The special tokens of fastai's text pipeline (fastai v1 text/transform.py,
// the paper file's "Tokenisation" section). They always take ids 0..8, in this
// order, in every Vocab, so a model's embedding rows for them never move.
const (
	UnkToken   = "xxunk"  // a token not in the vocabulary
	PadToken   = "xxpad"  // padding in classifier batches
	BOSToken   = "xxbos"  // beginning of a document
	EOSToken   = "xxeos"  // end of a document (only with Options.AddEOS)
	FieldToken = "xxfld"  // "xxfld k" opens field k of a multi-field document
	MajToken   = "xxmaj"  // the next word was Capitalised
	UpToken    = "xxup"   // the next word was ALL CAPS
	RepToken   = "xxrep"  // "xxrep n c": character c repeated n times
	WRepToken  = "xxwrep" // "xxwrep n w": word w repeated n times
)

// Ids of the special tokens in every Vocab.
const (
	UnkID int32 = iota
	PadID
	BOSID
	EOSID
	FieldID
	MajID
	UpID
	RepID
	WRepID
	numSpecial
)

// specialTokens lists the special tokens in id order.
var specialTokens = [numSpecial]string{
	UnkToken, PadToken, BOSToken, EOSToken, FieldToken, MajToken, UpToken, RepToken, WRepToken,
}

// SpecialTokens returns the special tokens in id order: xxunk xxpad xxbos xxeos
// xxfld xxmaj xxup xxrep xxwrep.
func SpecialTokens() []string { return append([]string(nil), specialTokens[:]...) }
