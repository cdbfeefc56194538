package model

import (
	"fmt"
	"strconv"
	"strings"
)

// NonFiniteError is a training step whose loss or gradient norm came out
// NaN or infinite: training diverged. It is raised in the step it appears,
// before the optimiser touches the weights, so the model (and any
// checkpoint saved earlier) is the last good one.
type NonFiniteError struct {
	What  string  // "loss" or "gradient norm"
	Value float64 // NaN, +Inf or -Inf
	// Where the trainer was, filled in by the trainer.
	Trainer     string    // "LM training", "classifier training"
	Epoch, Iter int       // 0-based epoch; iteration counts updates from 0 over all epochs
	LR          []float64 // the step's learning rates, per group
	Detail      string    // e.g. the loss's parts
}

func (e *NonFiniteError) Error() string {
	var b strings.Builder
	b.WriteString("model: ")
	if e.Trainer != "" {
		fmt.Fprintf(&b, "%s diverged at epoch %d, step %d (iteration %d from 0)", e.Trainer, e.Epoch+1, e.Iter+1, e.Iter)
		if len(e.LR) > 0 {
			fmt.Fprintf(&b, ", learning rate %s", formatRates(e.LR))
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "the %s is %g", e.What, e.Value)
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	b.WriteString("; the weights were left as before the step: lower the learning rate")
	return b.String()
}

// formatRates prints one rate as is and several as "[a b c] (per layer group)".
func formatRates(lrs []float64) string {
	same := true
	for _, r := range lrs {
		same = same && r == lrs[0]
	}
	if same {
		return strconv.FormatFloat(lrs[0], 'g', 4, 64)
	}
	parts := make([]string, len(lrs))
	for i, r := range lrs {
		parts[i] = strconv.FormatFloat(r, 'g', 4, 64)
	}
	return "[" + strings.Join(parts, " ") + "] (per layer group)"
}

// diverged fills in where a NonFiniteError happened, or makes one for a
// loss that is not finite; other errors pass through.
func diverged(err error, trainer string, epoch, iter int, lrs []float64) error {
	e, ok := err.(*NonFiniteError)
	if !ok {
		return err
	}
	e.Trainer, e.Epoch, e.Iter, e.LR = trainer, epoch, iter, append([]float64(nil), lrs...)
	return e
}
