package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
)

// goodCSV is a small two-class training file.
func goodCSV() string {
	var b strings.Builder
	b.WriteString("label,text\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "%s,%s thing number %d.\n", []string{"pos", "neg"}[i%2], []string{"A good", "A bad"}[i%2], i)
	}
	return b.String()
}

// declaredExperiment writes an experiment whose only task is dataset
// "toy", declared by spec (keys of [datasets.toy]) over the files given,
// and returns its path.
func declaredExperiment(t *testing.T, spec string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exp := "title = \"Toy\"\ntasks = [\"toy\"]\ndefault_scale = \"tiny\"\n\n[datasets.toy]\nformat = \"csv\"\nheader = true\n" + spec +
		"\n[[rows]]\nid = \"scratch\"\nclassifier = \"scratch\"\n"
	path := filepath.Join(dir, "toy.toml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A dataset the experiment declares that cannot be used stops the plan
// with a usage error naming the file and what is wrong, before any stage
// runs; it is never quietly left out (it was: its cells were dropped and
// run printed an empty table with exit code 0).
func TestUnusableDeclaredDatasetStopsThePlan(t *testing.T) {
	cols := "train = \"train.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n"
	for _, c := range []struct {
		name  string
		spec  string
		files map[string]string
		want  []string
	}{
		{"missing file", cols, nil, []string{"train.csv", "no such file"}},
		{"ragged row", cols, map[string]string{"train.csv": goodCSV() + "pos,one,two\n"}, []string{"train.csv:42", "fields"}},
		{"empty file", cols, map[string]string{"train.csv": ""}, []string{"train.csv", "empty file"}},
		{"invalid UTF-8", cols, map[string]string{"train.csv": goodCSV() + "pos,caf\xe9\n"}, []string{"train.csv:42", "invalid UTF-8"}},
		{"wrong label column", "train = \"train.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"class\"\n",
			map[string]string{"train.csv": goodCSV()}, []string{"train.csv:1", `no column "class"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := declaredExperiment(t, c.spec, c.files)
			dir := t.TempDir()
			err := Run(context.Background(), Options{Experiments: []string{path}, Cache: filepath.Join(dir, "cache"),
				Results: filepath.Join(dir, "results"), Load: synthLoad})
			var de *DataError
			if !errors.As(err, &de) || !IsUsage(err) {
				t.Fatalf("got %v, want a usage *DataError", err)
			}
			// The file and the line of the dataset's table (the fifth).
			for _, want := range append([]string{path + ":5: dataset toy", "[datasets.toy]"}, c.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "cache")); err == nil {
				t.Error("the run made its cache: a stage may have started")
			}
			if err := Show(context.Background(), Options{Experiments: []string{path}, Load: synthLoad}); !errors.As(err, &de) {
				t.Errorf("plan: got %v, want the same *DataError", err)
			}
		})
	}
}

// A pretraining corpus the experiment declares that cannot be used stops
// the plan the same way.
func TestUnusableDeclaredCorpusStopsThePlan(t *testing.T) {
	path := declaredExperiment(t, "train = \"train.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n\n"+
		"[datasets.corpus]\nformat = \"jsonl\"\ntrain = \"corpus.jsonl\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n\n"+
		"[scale.tiny]\npretrain_corpus = \"corpus\"\n\n[[rows]]\nid = \"ulmfit\"\n",
		map[string]string{"train.csv": goodCSV(), "corpus.jsonl": "{\"text\": \"x\", \"label\": \"a\"}\n{\"text\": \"y\"\n"})
	e, err := experiments.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{})
	var de *DataError
	if !errors.As(err, &de) || !IsUsage(err) || !strings.Contains(err.Error(), "corpus.jsonl:2") || !strings.Contains(err.Error(), "pretraining corpus") {
		t.Errorf("got %v, want a usage *DataError naming corpus.jsonl:2 as the pretraining corpus", err)
	}
}

// A registered task that is merely not in the data directory is left out,
// saying how to fetch it; named with --tasks it stops the plan instead.
func TestAbsentRegisteredTask(t *testing.T) {
	absent := func(name string) (*datasets.Dataset, error) {
		if name == "trec6" {
			return nil, &datasets.NotPresentError{Name: name, Looked: []string{"/nowhere/trec6"}}
		}
		return synthLoad(name)
	}
	e, err := experiments.Open("table4")
	if err != nil {
		t.Fatal(err)
	}
	p := &Planner{Backend: compute.Default(), Load: absent}
	plan, err := p.Plan(e, PlanOptions{Scale: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Missing["trec6"]; err == nil || !strings.Contains(err.Error(), "ulmfit data fetch trec6") {
		t.Errorf("trec6 missing: %v, want the fetch command", err)
	}
	var out strings.Builder
	if err := PrintPlan(&out, plan, &Cache{Dir: t.TempDir()}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no data for trec6, its cells are left out") {
		t.Errorf("the plan does not say trec6 is left out:\n%s", out.String())
	}
	_, err = p.Plan(e, PlanOptions{Scale: "tiny", Tasks: []string{"trec6", "imdb"}})
	var de *DataError
	if !errors.As(err, &de) || !IsUsage(err) || !strings.Contains(err.Error(), "trec6 (named with --tasks)") {
		t.Errorf("--tasks trec6: got %v, want a usage *DataError", err)
	}
}

// A --data-dir none of whose folders exists stops the plan (exit 2), where
// it used to leave every registered task out.
func TestDataDirNowhere(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	err := Show(context.Background(), Options{Experiments: []string{"table4"}, DataDir: missing})
	if !IsUsage(err) || !strings.Contains(err.Error(), "--data-dir "+missing+": no such data directory") {
		t.Errorf("got %v, want a usage error naming the data directory", err)
	}
	if err := checkDataDir(missing + string(os.PathListSeparator) + t.TempDir()); err != nil {
		t.Errorf("a search path with one folder that exists: %v", err)
	}
}

// Labels are checked before any stage: a labelled split with examples of
// fewer than two classes, a dataset of one class, and labels outside the
// declared classes stop the plan naming the file, the split, what was
// found and what was expected. (A one-class training split used to train
// to chance without a word, and stray spellings to add classes.)
func TestLabelsCheckedBeforeStages(t *testing.T) {
	oneClass := "label,text\n"
	for i := 0; i < 30; i++ {
		oneClass += fmt.Sprintf("objective,A plain fact number %d.\n", i)
	}
	cols := "train = \"train.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n"
	for _, c := range []struct {
		name  string
		spec  string
		files map[string]string
		want  []string
	}{
		{"one-class training split", cols + "test = \"test.csv\"\n",
			map[string]string{"train.csv": oneClass, "test.csv": "label,text\nobjective,a\nsubjective,b\n"},
			[]string{"split train (", "train.csv) has examples of 1 class (objective: 30); want at least 2 of its 2 classes (objective, subjective)"}},
		{"one class in all", cols, map[string]string{"train.csv": oneClass},
			[]string{"has 1 class (objective); a classifier needs at least 2"}},
		{"declared classes, one missing from train", cols + "classes = [\"subjective\", \"objective\"]\n",
			map[string]string{"train.csv": oneClass}, []string{"split train", "1 class (objective: 30); want at least 2 of its 2 classes (subjective, objective)"}},
		{"stray spellings", cols + "classes = [\"subjective\", \"objective\"]\n",
			map[string]string{"train.csv": strings.NewReplacer("pos,", "subjective,", "neg,", "objective,").Replace(goodCSV()) + "Subjective,x\nobjective ,y\n"},
			[]string{"train.csv:42: 2 unknown labels", `"Subjective" (1 row, line 42; "Subjective" differs from class "subjective" only in case)`,
				`"objective " (1 row, line 43; "objective " differs from class "objective" only in spaces)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := declaredExperiment(t, c.spec, c.files)
			err := Show(context.Background(), Options{Experiments: []string{path}, Load: synthLoad})
			var de *DataError
			if !errors.As(err, &de) || !IsUsage(err) {
				t.Fatalf("got %v, want a usage *DataError", err)
			}
			for _, want := range append([]string{"dataset toy (declared in the file as [datasets.toy])"}, c.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// A draw of the scale that leaves one class in the training split (a rare
// class and a small max_train) stops the plan too.
func TestOneClassAfterTheDraw(t *testing.T) {
	var b strings.Builder
	b.WriteString("label,text\n")
	for i := 0; i < 400; i++ {
		label := "common"
		if i == 7 {
			label = "rare"
		}
		fmt.Fprintf(&b, "%s,Some text number %d.\n", label, i)
	}
	path := declaredExperiment(t, "train = \"train.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n\n[scale.tiny]\nmax_train = { default = 20 }\n",
		map[string]string{"train.csv": b.String()})
	err := Show(context.Background(), Options{Experiments: []string{path}, Load: synthLoad})
	if !IsUsage(err) || !strings.Contains(err.Error(), "training split of scale tiny (after its max_train and validation draws) has examples of 1 class (common: ") {
		t.Errorf("got %v, want a usage error about the training split", err)
	}
}

// How a declared dataset is read is part of its stages' keys: the same
// files with another label column, class order or split assignment are
// other data (they were not: a changed label_column reused the cached
// task data of the old one and reported its numbers), while the folder
// they are in is not.
func TestDeclaredReadingIsInTheKeys(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("label,topic,text\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&csv, "%s,%s,%s thing number %d.\n", []string{"pos", "neg"}[i%2], []string{"x", "y", "z"}[i%3], []string{"A good", "A bad"}[i%2], i)
	}
	files := map[string]string{"a.csv": csv.String(), "b.csv": csv.String()}
	ids := func(spec string) map[string]string {
		t.Helper()
		e, err := experiments.Open(declaredExperiment(t, spec+"\n[scale.tiny]\npretrain_corpus = \"toy\"\n\n[[rows]]\nid = \"ulmfit\"\n", files))
		if err != nil {
			t.Fatal(err)
		}
		plan, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range plan.Graph.Stages {
			if s.Kind == KindTaskData || s.Kind == KindCorpus {
				out[s.Kind] = s.ID()
			}
		}
		if len(out) != 2 {
			t.Fatalf("stages %v, want a taskdata and a corpus stage", out)
		}
		return out
	}
	const base = "train = \"a.csv\"\ntest = \"b.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n"
	was := ids(base)
	if again := ids(base); again[KindTaskData] != was[KindTaskData] || again[KindCorpus] != was[KindCorpus] {
		t.Errorf("the same files and spec in another folder: stages %v, before %v", again, was)
	}
	for _, spec := range []string{
		"train = \"a.csv\"\ntest = \"b.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"topic\"\n",
		base + "classes = [\"pos\", \"neg\"]\n",
		"train = \"b.csv\"\ntest = \"a.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n",
		"train = \"a.csv\"\ntest = \"b.csv\"\ntext_columns = [\"topic\", \"text\"]\nlabel_column = \"label\"\n",
	} {
		now := ids(spec)
		for _, k := range []string{KindTaskData, KindCorpus} {
			if now[k] == was[k] {
				t.Errorf("%s stage %s for\n%swhich reads the files otherwise than\n%s", k, now[k], spec, base)
			}
		}
	}
}
