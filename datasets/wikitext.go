package datasets

import (
	"path/filepath"
	"strings"
)

// loadWikiText reads WikiText-103's wiki.{train,valid,test}.tokens. Each
// article is one document: it begins at a title line " = Title = " (one
// equals sign each side; section headings have two or more) and its text is
// its non-blank lines, trimmed and joined with newlines.
func loadWikiText(dir string) (*Dataset, error) {
	d := &Dataset{Name: "wikitext103", Source: Source{Dir: dir}}
	for _, split := range []struct {
		file string
		dst  *[]Example
	}{{"wiki.train.tokens", &d.Train}, {"wiki.valid.tokens", &d.Valid}, {"wiki.test.tokens", &d.Test}} {
		docs, info, err := readWikiText(filepath.Join(dir, split.file))
		if err != nil {
			return nil, err
		}
		*split.dst = docs
		d.Source.Files = append(d.Source.Files, info)
	}
	return d, nil
}

// isArticleTitle reports whether a WikiText line starts an article.
func isArticleTitle(line string) bool {
	t := strings.TrimSpace(line)
	return len(t) > 4 && strings.HasPrefix(t, "= ") && strings.HasSuffix(t, " =") &&
		!strings.HasPrefix(t, "= =") && !strings.HasSuffix(t, "= =")
}

func readWikiText(path string) ([]Example, FileInfo, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer in.close()
	lr := newLineReader(in, path)
	var docs []Example
	var cur []string
	flush := func() {
		if cur != nil {
			docs = append(docs, Example{Text: []string{strings.Join(cur, "\n")}, Label: NoLabel})
		}
		cur = nil
	}
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, FileInfo{}, err
		}
		if !ok {
			break
		}
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if isArticleTitle(line) {
			flush()
			cur = []string{t}
			continue
		}
		if cur == nil {
			return nil, FileInfo{}, formatErrorf(path, lr.line,
				"text before the first article title; want articles that begin with a ` = Title = ` line")
		}
		cur = append(cur, t)
	}
	flush()
	if len(docs) == 0 {
		return nil, FileInfo{}, formatErrorf(path, 0, "no articles; want ` = Title = ` lines followed by text")
	}
	info, err := in.finish()
	return docs, info, err
}
