package report

import (
	"bytes"
	"testing"
)

// A plan's stages as 'ulmfit status' shows them, one done, one in each
// state a submitted job can be in and two never sent, against
// testdata/slurmstatus.txt (byte for byte: tabwriter pads the last column
// of rows with none).
func TestSlurmStatus(t *testing.T) {
	var buf bytes.Buffer
	if err := SlurmStatus(&buf, []SlurmStage{
		{Label: "corpus wikitext-103", ID: "7b31af0097e3c0d2e8", State: "done"},
		{Label: "pretrain wikitext-103 awd-lstm", ID: "42b7caf53ed7a1b2c3", Job: "12_0", State: "running", Slurm: "RUNNING"},
		{Label: "taskdata imdb", ID: "5625ccb1cb0d9e8f70", Job: "12_1", State: "queued", Slurm: "PENDING"},
		{Label: "finetune imdb full+discr+stlr seed 1", ID: "f0c787c1e8c9", Job: "13_0", State: "failed, will resume", Slurm: "TIMEOUT"},
		{Label: "classifier imdb freez+discr+stlr seed 1", ID: "f04d0273", Job: "13_1", State: "failed", Slurm: "gone"},
		{Label: "evaluate imdb ulmfit test seed 1", ID: "9b77d54a72ed11", State: "partial, not submitted"},
		{Label: "evaluate imdb ulmfit validation seed 1", ID: "0fc8141a7dc0ffee", State: "not submitted"},
	}); err != nil {
		t.Fatal(err)
	}
	golden(t, "slurmstatus.txt", buf.Bytes())

	// All done: no advice to submit again.
	buf.Reset()
	if err := SlurmStatus(&buf, []SlurmStage{{Label: "corpus imdb", ID: "7b31af0097e3", State: "done"}}); err != nil {
		t.Fatal(err)
	}
	if want := "stage        id            job  state  slurm\ncorpus imdb  7b31af0097e3  -    done   \n1 stages: 1 done, 0 queued, 0 running, 0 failed, 0 not submitted\n"; buf.String() != want {
		t.Errorf("all done:\n%q\nwant\n%q", buf.String(), want)
	}
}
