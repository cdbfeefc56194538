package text_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/text"
)

func ExampleTokenizer_Tokenize() {
	tok := text.NewTokenizer(text.Options{})
	fmt.Println(strings.Join(tok.Tokenize("I didn't like it.<br /><br />It was sooo BORING!!!! Boring. Boring. Boring. Boring. :("), " "))
	// An AG News document: title and description become fields 1 and 2.
	fmt.Println(strings.Join(tok.Tokenize("Oil Hits #36;50", "Prices rose &amp; fell."), " "))
	// Output:
	// xxbos i did n't like it . xxmaj it was sooo xxup boring xxrep 4 ! xxwrep 4 xxmaj boring . :(
	// xxbos xxfld 1 xxmaj oil xxmaj hits $ 50 xxfld 2 xxmaj prices rose & fell .
}

func ExampleBuildCorpus() {
	dir, err := os.MkdirTemp("", "corpus")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	reviews := []string{"A great film.", "A dull film.", "Great acting, great film!"}
	docs := func(yield func([]string, error) bool) {
		for _, r := range reviews {
			if !yield([]string{r}, nil) {
				return
			}
		}
	}
	tok := text.NewTokenizer(text.Options{})
	path := filepath.Join(dir, "reviews.ulmc")
	vocab, stats, err := text.BuildCorpus(context.Background(), tok, docs, path, text.VocabOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(vocab.Tokens()[text.WRepID+1:], stats.Docs, stats.Tokens, stats.Unknown)

	corpus, err := text.OpenCorpus(path, vocab)
	if err != nil {
		log.Fatal(err)
	}
	defer corpus.Close()
	fmt.Println(vocab.Decode(corpus.Doc(1)))
	// Output:
	// [film great . a] 3 18 4
	// xxbos a xxunk film .
}
