// Package runner plans experiments (package experiments) into a graph of
// cached stages, runs them, and records one result per cell and seed.
//
// # Stages
//
// Every cell of an experiment (a row on a dataset, at a training size, for
// a seed) is the end of a chain of stages:
//
//	corpus      tokenise the pretraining corpus (a seeded subset at small scales),
//	            first learning its subword model for tokenizer "subword"
//	pretrain    train the general-domain LM on it
//	taskdata    split the task (carve, subset, 10% validation, low-shot draw) and tokenise it
//	            (subwords: with the corpus stage's model and vocabulary, an input)
//	finetune    fine-tune the LM on the task's text
//	classifier  train the classifier from the fine-tuned LM (or the pretrained one, or nothing)
//	evaluate    its error on the validation or test split
//
// A row that starts from a pretrained LM has, in place of corpus and
// pretrain, an import stage (a fastai LM, converted) or a zoo stage (a model
// of the project's zoo, package zoo: our own pretrain stage's LM,
// decompressed and checked against its manifest). A scale may name a zoo
// model that its rows start from (ablations.Scale.StartFrom) unless a row
// says pretrained = "ours": the small scale names small-wikipedia-en, so
// two CPU cores pretrain nothing.
//
// A stage's identity (Stage.ID) is a hash of its kind, its code version
// (CodeVersion, below), its key (the settings, seed and data checksums it
// depends on) and its inputs' identities. Equal identities are one stage: Table 4's
// "with pretraining", Table 5's "AWD-LSTM", Table 6's "Full + discr +
// stlr", Table 7's "Freez + discr + stlr" and Figure 4's "ULMFiT" are one
// chain, and all of Table 7 fine-tunes one LM. The seed of a cell reaches LM
// fine-tuning and the classifier; pretraining, the data splits and subsets
// use the settings' own seeds, so every seed and row sees the same data.
//
// # Code versions
//
// A stage kind's code version is derived from the source embedded in the
// binary (ulmfit.Source), once, when the first stage is planned: the digest
// of every declaration that the kind's entry points (stageCode: the function
// its Run calls, and the planner method that computes what Run is given
// besides the key) can reach in any package of the module, with the C and
// CUDA files that code compiles or embeds and the versions of the other
// modules it imports. Package internal/codeversion says how names are
// followed; it errs towards covering too much. Comments and layout change no
// version; every build (cgo or not, CPU or GPU) of one source gives the same
// versions, so a cache is shared between them. What changes which version:
//
//	corpus      dataset loading (datasets/), tokenising (text/), the corpus stage (runner/data.go)
//	taskdata    the same, the task's splits and subsets (runner/data.go), and
//	            the paper's dataset names (datasets.Label), which its notes print
//	pretrain    LM training (runner/lm.go, model/), the recipe (ablations/), the
//	            engines (compute/, compute/cuda/, their C and CUDA kernels), and the
//	            corpus code that its planner method calls
//	finetune    LM fine-tuning: the same without the corpus code
//	classifier  classifier training (runner/classifier.go, model/, ablations/), the engines
//	evaluate    classifier evaluation (model/), the engines
//	import      fastai's checkpoints (interop/), finding the files (datasets/), the engines
//	zoo         reading a zoo entry (zoo/), the engines
//
// Nothing else does: the report, records, the
// executor and cache, Slurm, experiment loading, the command line, the
// oracle. `go test ./runner -run TestCodeVersion -v` lists what each kind
// covers and checks a change in each of these places against this list. Not
// covered: the Go toolchain and the libraries a binary loads (OpenBLAS,
// CUDA), which records name (Go version, engine).
//
// A kind whose version changes gets new stage IDs, and so does every stage
// downstream of it (an input's ID is part of the ID): they are built again,
// and the old entries stay in the cache, unused. Records keep the IDs of the
// stages that made them: they are results, not cache, and the report reads
// them as they are (`ulmfit report walltime` finds those stages' manifests
// by the IDs the records name); nothing compares them with the IDs that the
// code would plan now.
//
// # Cache and resume
//
// Finished stages live in a Cache folder, each renamed into place whole
// once its outputs and manifest are written, so a crash leaves a finished
// stage or a .partial folder, never half of one. LM stages save the model
// and optimiser after every epoch in the .partial folder and resume from
// the last one; killed at any moment (kill -9 included) and run again, a
// run ends with the records an uninterrupted run writes. Classifier stages
// save their training state after every epoch too; one that early stopping
// ends (classifier_patience, model/earlystop.go), killed after its stopping
// epoch, stops at once when run again, and its record is the uninterrupted
// run's; so does LM fine-tuning with lm_patience, which keeps the best
// epoch's checkpoint beside the last. A stage is built under a file lock: a second runner waits for it
// and reuses it.
//
// # Records
//
// As each cell's evaluation finishes, its record (results.Record: the
// error, the per-epoch curves, the resolved configuration and its hash,
// seed, scale, data checksums, commit, Go version, machine, engine, wall
// time, tokens per second) is appended to RESULTS/EXPERIMENT.jsonl, unless
// the same measurement is there already, and RESULTS/EXPERIMENT.json is
// rewritten with the latest record of every cell.
//
// # Executors
//
// Run builds the stages in this process. Two executors build them
// elsewhere, in packages that import this one (never the reverse):
// runner/jobs runs several runners of one plan on one machine ('ulmfit run
// --jobs'), and runner/slurm sends the stages not cached to a Slurm
// cluster as array jobs ('ulmfit submit', 'ulmfit status'), each task
// building one stage through RunStage with the same cache, locks and
// checkpoints and a last job running WriteRecords. They plan through
// PlanGraph and Options.WithDefaults, and lock with LockFile (executors.go).
//
// # Files
//
// The engine, which knows stages only as a kind, a key, inputs and a Run
// function:
//
//	graph.go        Stage, its ID, and Graph
//	cache.go        the cache folder, manifests, stage locks
//	integrity.go    checksums of a stage's files, corrupt stages set aside
//	exec.go         Executor (runs a graph on the cache) and Exec (what a stage's Run sees)
//	progress.go     Reporter: progress bars or log lines
//	estimate.go     Calibration: time estimates learnt from finished stages
//	gc.go           'ulmfit cache gc': what records still need
//	codeversion.go  CodeVersion, from the embedded source
//	provenance.go   the commit, machine and engine records name
//
// The stage kinds, planned from experiments and built by their jobs:
//
//	kinds.go        the kinds and every per-kind table (code, rates, record parts)
//	plan.go         Planner: an experiment's rows and tasks as cells, each a chain of stages
//	data.go         corpus and taskdata: loading, splitting, tokenising
//	lm.go           pretrain and finetune: LM training with per-epoch checkpoints
//	classifier.go   classifier and evaluate
//	import.go       import: a fastai LM in place of corpus and pretrain
//	zoo.go          zoo: a model of the zoo in place of corpus and pretrain; ZooSource
//	                and ZooStage, what 'ulmfit zoo add' makes an entry from
//	precision.go    a row's precision (tf32 or bf16 in its model stages' keys) and the engine they run on
//
// Each kind's file holds its key (what its ID hashes besides its inputs),
// its job (what Stage.Run calls), its result (its manifest's JSON) and,
// for the kinds the planner makes alone, the planner's method; fine-tuning,
// the classifier and the evaluation are planned together, per cell and
// direction, in plan.go.
//
// Records and the entry points:
//
//	records.go      a cell's record from its stages' manifests, and the records files
//	summary.go      what a run prints: its table (through report.RunSummary) and earlier records
//	run.go          Options, Run, Show, PrintPlan
//	executors.go    PlanGraph, RunStage, WriteRecords: what the executors use
//	recordlm.go     LMOf: a record's fine-tuned LM and its task data ('ulmfit lm')
//	lrfind.go       LRFind: the learning-rate range test on a cell's stages ('ulmfit lr-find'),
//	                training a copy in memory, never the cache's
package runner
