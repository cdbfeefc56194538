package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// SlurmStage is one stage of a plan sent to a Slurm cluster, as 'ulmfit
// status' shows it (runner/slurm.Status finds where each stands).
type SlurmStage struct {
	Label string
	ID    string // the stage's ID; the table shows its first 12 characters
	Job   string // the array task, "123_4"; "" when not submitted
	// State is done, queued, running, failed or not submitted, with a
	// note after a comma ("failed, will resume", "partial, not submitted";
	// partial counts as not submitted).
	State string
	Slurm string // Slurm's word for the job, when it knows it
}

// SlurmStatus writes stages as a text table and a line of counts, and,
// when some failed or were never sent, says that submitting again sends
// them.
func SlurmStatus(w io.Writer, stages []SlurmStage) error {
	counts := map[string]int{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\tid\tjob\tstate\tslurm")
	for _, s := range stages {
		counts[strings.SplitN(s.State, ",", 2)[0]]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Label, s.ID[:min(12, len(s.ID))], cmp.Or(s.Job, "-"), s.State, s.Slurm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d stages: %d done, %d queued, %d running, %d failed, %d not submitted\n",
		len(stages), counts["done"], counts["queued"], counts["running"], counts["failed"], counts["not submitted"]+counts["partial"])
	if counts["failed"]+counts["not submitted"]+counts["partial"] > 0 {
		fmt.Fprintln(w, "submit again to send the failed and missing stages (killed ones resume from their last epoch)")
	}
	return nil
}
