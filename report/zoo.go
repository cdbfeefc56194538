package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// ItemZoo is the splice item of the model zoo's table.
const ItemZoo = "zoo"

// ZooTable writes the model zoo's entries as a table, one line each: the
// model, what it was pretrained on and for how long, its validation
// perplexity, where and by what code it was made and its compressed
// checkpoint with how it stores the parameters (fp32, bf16); then, once per corpus, the SHA-256 of each file the corpus
// stage read. md writes Markdown (the README's "Model zoo", spliced as the
// item zoo), else a text table ('ulmfit zoo list').
func ZooTable(w io.Writer, entries []*zoo.Entry, md bool) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "The zoo holds no entries yet ('ulmfit zoo add' adds one).")
		return err
	}
	header := []string{"entry", "model", "pretrained on", "epochs", "valid. perplexity", "made by", "engine, machine", "finished", zoo.CheckpointFile}
	var rows [][]string
	corpora := map[string]zoo.Corpus{}
	for _, e := range entries {
		m := e.Made
		ppl := "-"
		if n := len(m.Epochs); n > 0 {
			ppl = fmt.Sprintf("%.1f", m.Epochs[n-1].ValidPerplexity)
		}
		made := []string{}
		if m.Experiment != "" {
			made = append(made, fmt.Sprintf("%s row %s", m.Experiment, m.Row))
		}
		commit := m.GitCommit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if m.GitDirty {
			commit += " (dirty)"
		}
		made = append(made, "commit "+commit, "stage "+short(m.Stage))
		finished := "-"
		if !m.Finished.IsZero() {
			finished = m.Finished.UTC().Format("2006-01-02")
		}
		ck := e.Files[zoo.CheckpointFile]
		rows = append(rows, []string{
			e.Name,
			fmt.Sprintf("AWD-LSTM %s, %s, %s words", e.Model, e.Direction, english.Count(e.Model.Vocab)),
			fmt.Sprintf("%s, %s tokens", m.Corpus.Name, english.Count(m.Corpus.TrainTokens)),
			fmt.Sprint(len(m.Epochs)),
			ppl,
			strings.Join(made, ", "),
			m.Engine + ", " + m.Machine,
			finished,
			fmt.Sprintf("%.1f MB %s, sha256 %s", float64(ck.Bytes)/1e6, e.Stored(), short(ck.SHA256)),
		})
		if m.Corpus.Name != "" {
			corpora[m.Corpus.Name+"\x00"+m.Corpus.Stage] = m.Corpus
		}
	}
	if err := gridTable(w, header, rows, md); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(corpora)) {
		c := corpora[k]
		fmt.Fprintf(w, "\n%s (corpus stage %s: %s documents, %s tokens for training, %s for validation), the SHA-256 of its files:\n",
			c.Name, short(c.Stage), english.Count(c.TrainDocs), english.Count(c.TrainTokens), english.Count(c.ValidTokens))
		for _, f := range slices.Sorted(maps.Keys(c.Files)) {
			if md {
				fmt.Fprintf(w, "- `%s` %s\n", f, c.Files[f])
			} else {
				fmt.Fprintf(w, "  %s  %s\n", c.Files[f], f)
			}
		}
	}
	return nil
}
