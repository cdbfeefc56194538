package runner

import (
	"fmt"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
)

// The precision of a row's matrix products (ablations.Settings.Precision)
// and the engine its stages run on.
//
// A row that sets no precision runs at the run's (Planner.Precision,
// --precision); a row that sets one runs at its own, whatever the run's.
// tf32 and bf16 are part of what a cell computes, not only of how: a row
// at either carries it in the settings its records keep and in the keys
// of its pretrain, finetune, classifier and evaluate stages, so rows at
// two precisions never share a cached LM or classifier, while the corpus
// and task data, which multiply no matrices, stay shared. fp32, written
// or not, keeps the keys rows had before the setting. A run at --precision
// bf16 writes bf16 into the rows that set none; a run at --precision tf32
// (--device cuda) does not: its rows without a precision run at tf32 with
// fp32's keys, as every row did before tf32 was a setting, and only a row
// that says precision = "tf32" gets keys of its own.
//
// On the CPU a row at another precision than the run's gets a second CPU
// backend, on the same BLAS and kernels, at its own (compute.CPU.BF16);
// the CPU has no tf32 engine, so a tf32 row stops the plan there. A GPU's
// backend is built once per process, at --precision
// (Planner.FixedPrecision): there a row at another precision stops the
// plan. Both errors name the row's file and line.
//
// Stage labels mark bf16's model stages (precisionLabel) but not tf32's:
// the pretraining label is part of that stage's code version, which tf32
// leaves alone, and a tf32 row plans only on a GPU at tf32, where every
// stage runs at tf32; its evaluate stages are labelled with the row.

// runPrecision is the run's precision: Planner.Precision, with "" read as
// fp32.
func (p *Planner) runPrecision() string {
	if p.Precision == "" {
		return ablations.PrecisionFP32
	}
	return p.Precision
}

// rowEngine returns the precision a row's stages run at, and the backend
// that runs them. s is the row's settings before Resolve, where a written
// "fp32" is still there to win over a run at bf16.
func (p *Planner) rowEngine(e *experiments.Experiment, row experiments.Row, s ablations.Settings) (string, compute.Backend, error) {
	prec := p.runPrecision()
	if s.Precision != "" {
		prec = s.Precision
	}
	if prec == ablations.PrecisionTF32 && !p.FixedPrecision {
		return "", nil, &PlanError{fmt.Sprintf("%s:%d: row %s: precision = %q needs --device cuda --precision tf32 (the CPU has no tf32 engine): "+
			"run the row on a GPU on its own (--only %s --device cuda --precision tf32), and pick the other rows here with --only", e.Source, row.Line, row.ID, prec, row.ID)}
	}
	if prec == p.runPrecision() {
		return prec, p.Backend, nil
	}
	if be, ok := p.engines[prec]; ok {
		return prec, be, nil
	}
	cpu, ok := p.Backend.(*compute.CPU)
	if p.FixedPrecision || !ok {
		return "", nil, &PlanError{fmt.Sprintf("%s:%d: row %s: precision = %q, but this run's engine runs at --precision %s alone (a GPU's is built once, at one precision); "+
			"run the row on its own with --precision %s (--only %s), or leave precision out of it to run at the run's", e.Source, row.Line, row.ID, prec, p.runPrecision(), prec, row.ID)}
	}
	be := &compute.CPU{BLAS: cpu.BLAS, Kernels: cpu.Kernels, BF16: prec == ablations.PrecisionBF16}
	if p.engines == nil {
		p.engines = map[string]compute.Backend{}
	}
	p.engines[prec] = be
	return prec, be, nil
}

// withPrecision is s (before Resolve) with the precision its stages run
// at written in when it is a setting (bf16) and s left it to the run, so
// that a run at --precision bf16 plans and records what a row that says
// precision = "bf16" does.
func withPrecision(s ablations.Settings, prec string) ablations.Settings {
	if s.Precision == "" && prec == ablations.PrecisionBF16 {
		s.Precision = prec
	}
	return s
}

// engineName is be's name, "" for none (a planner that runs no model).
func engineName(be compute.Backend) string {
	if be == nil {
		return ""
	}
	return be.Name()
}
