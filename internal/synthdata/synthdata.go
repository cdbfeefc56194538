// Package synthdata generates small datasets for the tests of the runner
// and its executors: every registered dataset an experiment names gets a
// small labelled set whose classes are told apart by a few marker words in
// otherwise shared text, so a classifier can learn them; the pretraining
// corpora get unlabelled prose of the same words. Only tests import it.
package synthdata

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
)

// Words are the shared text of every generated document.
var Words = strings.Fields(`the a of and to in is was it for on with as by at from that this which
be are were have has had not but or an they we you he she his her their its time year people way day man
thing woman life child world school state family student group country problem hand part place case week
company system program question work government number night point home water room mother area money story
fact month lot right study book eye job word business issue side kind head house service friend father power
hour game line end member law car city community name president team minute idea kid body information back
parent face others level office door health person art war history party result change morning reason research
girl guy moment air teacher force education`)

// spec says what a generated dataset holds.
type spec struct {
	classes          int
	train, test, unl int
	onlyTest         bool // like AG here: only a test split
}

var specs = map[string]spec{
	"trec6":     {classes: 6, train: 180, test: 40},
	"imdb":      {classes: 2, train: 160, test: 40, unl: 60},
	"ag-news":   {classes: 4, test: 200, onlyTest: true},
	"dbpedia":   {classes: 14, train: 280, test: 70},
	"yelp-bi":   {classes: 2, train: 120, test: 40},
	"yelp-full": {classes: 5, train: 150, test: 50},
	"mr":        {classes: 2, train: 120, test: 40},
	"sst2":      {classes: 2, train: 120, test: 40},
}

func document(rng *rand.Rand, label int) []string {
	n := 6 + rng.IntN(14)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		if label >= 0 && rng.IntN(4) == 0 {
			fmt.Fprintf(&b, "marker%c%d", 'a'+rune(label), rng.IntN(3))
		} else {
			w := Words[rng.IntN(len(Words))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
		}
	}
	b.WriteString(".")
	return []string{b.String()}
}

func examples(rng *rand.Rand, n, classes int) []datasets.Example {
	out := make([]datasets.Example, n)
	for i := range out {
		label := datasets.NoLabel
		if classes > 0 {
			label = i % classes
		}
		out[i] = datasets.Example{Text: document(rng, label), Label: label}
	}
	return out
}

// Load loads generated data by registry name: the Load hook of
// runner.Options.
func Load(name string) (*datasets.Dataset, error) {
	rng := rand.New(rand.NewPCG(uint64(len(name)), 7))
	if info, err := datasets.Lookup(name); err == nil && info.Kind == datasets.Corpus {
		return &datasets.Dataset{Name: name,
			Train:  examples(rng, 400, 0),
			Valid:  examples(rng, 40, 0),
			Source: datasets.Source{Dir: "/synthetic/" + name, Files: []datasets.FileInfo{{Path: "/synthetic/" + name + "/text", SHA256: "synthetic-" + name}}}}, nil
	}
	sp, ok := specs[name]
	if !ok {
		return nil, fmt.Errorf("no generated data for %s", name)
	}
	classes := make([]string, sp.classes)
	for i := range classes {
		classes[i] = fmt.Sprintf("class%d", i)
	}
	ds := &datasets.Dataset{Name: name, Classes: classes,
		Source: datasets.Source{Dir: "/synthetic/" + name, Files: []datasets.FileInfo{{Path: "/synthetic/" + name + "/data", SHA256: "synthetic-" + name}}}}
	if !sp.onlyTest {
		ds.Train = examples(rng, sp.train, sp.classes)
	}
	ds.Test = examples(rng, sp.test, sp.classes)
	ds.Unlabelled = examples(rng, sp.unl, 0)
	return ds, nil
}
