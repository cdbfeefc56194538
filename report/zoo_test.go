package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/zoo"
)

// zooEntries are two entries of one model, as a zoo's manifests would
// describe them.
func zooEntries() []*zoo.Entry {
	made := func(row string, ppl float64) zoo.Made {
		return zoo.Made{Experiment: "experiments/zoo-small.toml", Row: row, Stage: "1608fc898b93071b9ec9", GitCommit: "b3894ac0123456789",
			Engine: "cuda/tf32", Machine: "NVIDIA H200", Finished: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
			Corpus: zoo.Corpus{Name: "wikipedia-en", Stage: "29ce5f08bf87fcf456a2", TrainDocs: 23402, TrainTokens: 87123456, ValidTokens: 214000,
				Files: map[string]string{"enwiki-1.xz": strings.Repeat("ab", 32), "enwiki-2.xz": strings.Repeat("cd", 32)}},
			Epochs: []zoo.Epoch{{ValidCE: 4.55, ValidPerplexity: ppl}}}
	}
	entry := func(name, dir, row string, ppl float64) *zoo.Entry {
		return &zoo.Entry{Dir: "zoo/" + name, Manifest: zoo.Manifest{Name: name, Direction: dir,
			Model: zoo.Shape{Emb: 64, Hidden: 192, Layers: 3, Vocab: 12000},
			Files: map[string]zoo.FileSum{zoo.CheckpointFile: {Bytes: 4541140, SHA256: "00bdd0247360ed1353bef049739d4f78293f662f6c84baaf6dd235307dbb1fb5"}},
			Made:  made(row, ppl)}}
	}
	return []*zoo.Entry{entry("small-wikipedia-en-bwd", zoo.Backward, "backward", 97.1), entry("small-wikipedia-en-fwd", zoo.Forward, "forward", 94.6)}
}

// The README's zoo table is spliced from the manifests; the corpus's
// digests follow it once, however many entries read that corpus.
func TestSpliceZoo(t *testing.T) {
	rep, err := Build(spliceRecords(), nil, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	doc := "# Zoo\n<!-- ulmfit report: zoo -->\nstale\n<!-- /ulmfit report -->\n"
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "README.md", Zoo: func() ([]*zoo.Entry, error) { return zooEntries(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	var fwd string
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| small-wikipedia-en-fwd ") {
			fwd = line
		}
	}
	var cells []string
	for _, c := range strings.Split(strings.Trim(fwd, "|"), "|") {
		cells = append(cells, strings.TrimSpace(c))
	}
	want := []string{"small-wikipedia-en-fwd", "AWD-LSTM 64/192x3, forward, 12,000 words", "wikipedia-en, 87,123,456 tokens", "1", "94.6",
		"experiments/zoo-small.toml row forward, commit b3894ac01234, stage 1608fc898b93", "cuda/tf32, NVIDIA H200", "2026-12-04", "4.5 MB fp32, sha256 00bdd0247360"}
	if !slices.Equal(cells, want) {
		t.Errorf("the forward entry's line is %q, want %q", cells, want)
	}
	for _, want := range []string{
		"| small-wikipedia-en-bwd | AWD-LSTM 64/192x3, backward, 12,000 words |",
		"wikipedia-en (corpus stage 29ce5f08bf87: 23,402 documents, 87,123,456 tokens for training, 214,000 for validation), the SHA-256 of its files:\n- `enwiki-1.xz` " + strings.Repeat("ab", 32) + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the spliced zoo lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "wikipedia-en (corpus stage") != 1 || strings.Contains(got, "stale") {
		t.Errorf("spliced:\n%s", got)
	}
	for _, c := range []struct {
		name, doc string
		zoo       func() ([]*zoo.Entry, error)
		says      string
	}{
		{"no zoo", "<!-- ulmfit report: zoo -->\n<!-- /ulmfit report -->\n", nil, "needs the model zoo's folder"},
		{"more words", "<!-- ulmfit report: zoo small -->\n<!-- /ulmfit report -->\n", func() ([]*zoo.Entry, error) { return nil, nil }, "zoo takes no more words"},
		{"damaged zoo", "<!-- ulmfit report: zoo -->\n<!-- /ulmfit report -->\n", func() ([]*zoo.Entry, error) { return nil, errors.New("zoo/x: bad") }, "zoo/x: bad"},
	} {
		if _, err := rep.Splice([]byte(c.doc), SpliceOptions{Name: "doc.md", Zoo: c.zoo}); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.says)
		}
	}
	out, err = rep.Splice([]byte(doc), SpliceOptions{Name: "README.md", Zoo: func() ([]*zoo.Entry, error) { return nil, nil }})
	if err != nil || !strings.Contains(string(out), "The zoo holds no entries yet") {
		t.Errorf("an empty zoo: %v\n%s", err, out)
	}
}
