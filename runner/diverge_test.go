package runner

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/model"
)

// Training that diverges stops the run with the stage, the step and the
// learning rate, and keeps the last good checkpoint in the stage's work
// folder for a look; no record is written.
func TestDivergenceStopsTheRun(t *testing.T) {
	for _, c := range []struct {
		file, kind string
		want       []string
	}{
		{"diverge-lm.toml", KindPretrain, []string{"stage pretrain", "LM training diverged at epoch", "step", "learning rate", "is NaN", "last good checkpoint"}},
		{"diverge-classifier.toml", KindClassifier, []string{"stage classifier", "classifier training diverged at epoch", "step", "learning rate"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			dir := t.TempDir()
			var log strings.Builder
			err := Run(context.Background(), Options{Experiments: []string{filepath.Join("testdata", c.file)},
				Cache: filepath.Join(dir, "cache"), Results: filepath.Join(dir, "results"), Reporter: NewLogReporter(&log), Load: synthLoad})
			if err == nil {
				t.Fatalf("the run succeeded:\n%s", log.String())
			}
			var nf *model.NonFiniteError
			if !strings.Contains(err.Error(), "diverged") || !errors.As(err, &nf) {
				t.Fatalf("error %v, want a divergence", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "kept in") {
				kept := err.Error()[strings.LastIndex(err.Error(), "kept in ")+len("kept in "):]
				if err := model.VerifyFile(kept); err != nil {
					t.Errorf("the kept checkpoint: %v", err)
				}
			}
			if recs, _ := readRecords(filepath.Join(dir, "results"), strings.TrimSuffix(c.file, ".toml")); len(recs) > 0 {
				t.Errorf("%d records written for a diverged run", len(recs))
			}
			t.Log(err)
		})
	}
}
