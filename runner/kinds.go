package runner

// The stage kinds, and what the runner knows of each besides its planner
// method (builder, plan.go) and its job (data.go, lm.go, classifier.go,
// import.go, zoo.go, where KindZoo is declared): the code its version covers (stageCode), its speed for the
// time estimate (defaultRates, gpuDefaultRates, kindGroup, epochsRan) and
// what its result adds to a cell's record (recordParts). A new kind is a line in
// each table here.
//
// A kind is a string, Stage.Kind, and names the kind's folder in the
// cache and its stage in a record's configuration: the constants and the
// Stage type are part of every kind's code version, so they stay as they
// are.
const (
	KindCorpus     = "corpus"     // tokenise and numericalise the pretraining corpus
	KindPretrain   = "pretrain"   // general-domain LM pretraining
	KindTaskData   = "taskdata"   // split, subset, tokenise and numericalise a task
	KindFineTune   = "finetune"   // target-task LM fine-tuning
	KindClassifier = "classifier" // classifier training
	KindEvaluate   = "evaluate"   // error on the validation or test split
	KindImport     = "import"     // a pretrained LM from elsewhere (fastai's), in place of corpus and pretrain
)

// engines are the compute backends a stage that trains or runs a model may
// be given: the CPU (OpenBLAS or gonum, AVX2 or Go kernels) and the GPU. A
// stage's output does not say which one built it, and a cache is shared
// between machines (a CPU's pretrained LM fine-tuned on a GPU), so every such
// stage's code includes both.
var engines = []string{"compute.Default", "compute.NewCPU", "compute.GonumSgemm", "compute/cuda.New"}

// stageCode names the code that builds each stage kind's output, for its
// code version: the function its Stage.Run calls and, where the planner
// computes something that Run is given besides the key (the loaded dataset,
// a task's splits, a pretrained LM's files), the planner's method that makes
// the stage. Everything these reach in the module counts (see package
// internal/codeversion), so a helper added anywhere is covered without a
// change here; a new stage kind needs a line.
var stageCode = map[string][]string{
	KindCorpus:     {"runner.runCorpus", "runner.builder.corpus"},
	KindTaskData:   {"runner.runTaskData", "runner.builder.taskData", "runner.Planner.source"},
	KindPretrain:   append([]string{"runner.pretrainJob.run", "runner.builder.pretrain"}, engines...),
	KindFineTune:   append([]string{"runner.fineTuneJob.run"}, engines...),
	KindClassifier: append([]string{"runner.classifierJob.run"}, engines...),
	KindEvaluate:   append([]string{"runner.evaluateJob.run"}, engines...),
	KindImport:     append([]string{"runner.importJob.run", "runner.builder.importStage", "runner.Planner.pretrained"}, engines...),
	KindZoo:        append([]string{"runner.zooJob.run", "runner.builder.zooStage"}, engines...),
}

// defaultRates were measured with the "small" scale on two cores of a
// shared x86 server with OpenBLAS: multiply-adds per second for model
// stages, tokens per second for data stages. Overheads (loading,
// checkpoints) are in stageOverhead.
var defaultRates = map[string]float64{
	KindCorpus:     1e6,
	KindTaskData:   1e6,
	KindPretrain:   2e10,
	KindFineTune:   2e10,
	KindClassifier: 1.5e10,
	KindEvaluate:   1.5e10,
	// An import stage counts its LM's vocabulary; not measured: reading
	// and converting a 60,000-token model takes seconds.
	KindImport: 1e4,
	// A zoo stage counts its LM's vocabulary too: decompressing and
	// converting the small scale's 12,000-token LM took about a second.
	KindZoo: 1e4,
}

// gpuDefaultRates are what the paper-size stages of gpu-trec6 and gpu-imdb
// did on one H100 at tf32 (2026-11-26), rounded down; small models and
// short documents run far below them (launch overhead).
var gpuDefaultRates = map[string]float64{
	KindCorpus:     1e6,
	KindTaskData:   1e6,
	KindPretrain:   3e13,
	KindFineTune:   1e13,
	KindClassifier: 4e12,
	KindEvaluate:   2e13,
	KindImport:     1e4,
	KindZoo:        1e4,
}

// kindGroup puts kinds whose speed moves together: data stages (Go code
// on one core) and model stages (the engine's kernels).
func kindGroup(kind string) string {
	switch kind {
	case KindCorpus, KindTaskData, KindImport, KindZoo:
		return "data"
	}
	return "model"
}

// recordParts say what each kind's result adds to a cell's record besides
// its stage ID, start and wall time, which every stage adds (buildRecord);
// the evaluation's error is the record's value. A kind without an entry
// adds nothing more; the backward classifier of a bidirectional cell adds
// nothing more either (its error is in the evaluation's).
var recordParts = map[string]func(r *recordPart, m *Manifest) error{
	KindTaskData:   (*recordPart).taskData,
	KindCorpus:     (*recordPart).corpus,
	KindImport:     (*recordPart).importLM,
	KindZoo:        (*recordPart).zooLM,
	KindFineTune:   (*recordPart).fineTune,
	KindClassifier: (*recordPart).classifier,
}

// epochsRan says, for the kinds that can stop before their planned epochs
// (Work.Epochs), how many a finished stage ran, from its manifest's result;
// 0 when it ran them all or cannot tell. The estimate learns a stopped
// stage's rate from the epochs it ran (ranUnits).
var epochsRan = map[string]func(m *Manifest) int{
	KindClassifier: classifierEpochsRan,
	KindFineTune:   lmEpochsRan,
}

// lmEpochsRan is how many epochs an LM stage trained before early stopping
// ended it; 0 when it did not stop.
func lmEpochsRan(m *Manifest) int {
	var lr lmResult
	if m.Decode(&lr) != nil || !lr.Stopped {
		return 0
	}
	return len(lr.Epochs)
}

// classifierEpochsRan is how many epochs a classifier stage trained before
// early stopping ended it; 0 when it did not stop.
func classifierEpochsRan(m *Manifest) int {
	var cr classifierResult
	if m.Decode(&cr) != nil || !cr.Stopped {
		return 0
	}
	return len(cr.ValError)
}
