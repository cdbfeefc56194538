package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/results"
)

// Garbage collection of the stage cache. An entry of the cache
// (DIR/<kind>/<id>, its .partial folder, a .corrupt folder set aside) is
// removed unless a record names its stage or a stage that depends on it,
// or a runner holds it or a stage that reads it:
//
//   - Records name their stages in config.stages (and pretrained.stage);
//     the inputs of a named stage are kept too, through the manifests'
//     inputs, so a kept stage can be checked and rebuilt from.
//   - A runner building a stage holds its lock (DIR/<kind>/<id>.lock) and
//     lists the stage's inputs in its .partial folder (work/inputs.json):
//     the stage, its partial work and its inputs are kept (a runner
//     checking a finished stage holds it too: its manifest names the
//     inputs). A held stage whose inputs are not known (a runner of an
//     older version) keeps every finished stage.
//
// Each entry is removed under its stage's lock, so no runner builds it
// meanwhile, by renaming it aside first (<id>.gc) and then deleting that:
// an interrupted collection never leaves a half-deleted folder that looks
// finished.

// GCOptions configure PlanGC.
type GCOptions struct {
	Cache string
	// Records are record folders or files whose stages are kept; one that
	// does not exist names nothing.
	Records []string
	// OlderThan spares entries changed more recently than this (0: none).
	OlderThan time.Duration
	Now       time.Time // zero: time.Now()
}

// GCEntry is one folder of the cache.
type GCEntry struct {
	Kind, ID string
	Path     string
	State    string // EntryFinished, EntryPartial, EntryCorrupt or EntryRemoving
	Label    string // the manifest's, when it has one
	Bytes    int64
	Modified time.Time
	// Why says why it is kept ("named by a record", ...) or removed.
	Why string
}

// Entry states.
const (
	EntryFinished = "finished"
	EntryPartial  = "partial"  // interrupted, or being built
	EntryCorrupt  = "corrupt"  // set aside after failing its checks
	EntryRemoving = "removing" // a collection was interrupted while removing it
)

// GCPlan is what a collection would remove and what it keeps.
type GCPlan struct {
	Cache   string
	Remove  []GCEntry
	Keep    []GCEntry
	Sources []RecordSource // the records read
	Named   int            // distinct stages the records name
	// Holders are the processes holding stages (pid 0: unknown).
	Holders []int

	opts GCOptions
}

// RecordSource is one folder or file of records read for a collection.
type RecordSource struct {
	Path    string
	Records int
	Missing bool // it does not exist: nothing to keep for it
}

// Bytes sums the sizes of entries.
func Bytes(entries []GCEntry) int64 {
	var n int64
	for _, e := range entries {
		n += e.Bytes
	}
	return n
}

// entryName is a cache entry's folder name: a stage ID and a suffix.
var entryName = regexp.MustCompile(`^([0-9a-f]{20})(\.partial|\.corrupt|\.gc)?$`)

const inputsName = "inputs.json" // in a .partial folder's work/: the stage's inputs

// Why an entry is kept.
const (
	whyNamed      = "named by a record"
	whyInput      = "input of a stage a record names"
	whyHeld       = "held by a running runner"
	whyHeldInput  = "input of a stage a runner is building"
	whyHeldLegacy = "a runner is building a stage whose inputs it does not list"
	whyRecent     = "changed within --older-than"
)

// PlanGC reads the records and the cache and says what a collection would
// remove. It changes nothing.
func PlanGC(o GCOptions) (*GCPlan, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	p := &GCPlan{Cache: o.Cache, opts: o}
	named := map[string]bool{}
	var paths []string
	for _, path := range o.Records {
		set, err := supersededOf(path)
		if err != nil {
			return nil, fmt.Errorf("looking for the superseded records beside %s: %w (nothing was removed)", path, err)
		}
		paths = append(append(paths, path), set...)
	}
	for _, path := range paths {
		recs, err := results.Read(path)
		if errors.Is(err, fs.ErrNotExist) {
			p.Sources = append(p.Sources, RecordSource{Path: path, Missing: true})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the records whose stages are kept: %w (nothing was removed)", err)
		}
		p.Sources = append(p.Sources, RecordSource{Path: path, Records: len(recs)})
		for _, r := range recs {
			for _, id := range stagesOf(r) {
				named[id] = true
			}
			for lm := r.Pretrained; lm != nil; lm = lm.Backward {
				if lm.Stage != "" {
					named[lm.Stage] = true
				}
			}
		}
	}
	p.Named = len(named)
	entries, err := scanCache(o.Cache)
	if err != nil {
		return nil, err
	}
	keep := p.protected(entries, named)
	for _, e := range entries {
		why, ok := keep[e.Path]
		if !ok && o.OlderThan > 0 && o.Now.Sub(e.Modified) < o.OlderThan {
			why, ok = whyRecent, true
		}
		if ok {
			e.Why = why
			p.Keep = append(p.Keep, e)
			continue
		}
		switch e.State {
		case EntryFinished:
			e.Why = "no record names it"
		case EntryPartial:
			e.Why = "interrupted, no record names it"
		case EntryCorrupt:
			e.Why = "set aside as corrupt"
		case EntryRemoving:
			e.Why = "left by an interrupted collection"
		}
		p.Remove = append(p.Remove, e)
	}
	return p, nil
}

// supersededOf lists the files of superseded records (supersededExt)
// that go with the records at path: beside a records file, or anywhere in
// a records folder that results.ReadDir reads (hidden names skipped). A
// run set them aside, not away: their stages are kept like the current
// records' (delete such a file to let gc take its stages).
func supersededOf(path string) ([]string, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case !st.IsDir():
		if _, err := os.Stat(path + ".superseded"); err == nil && strings.HasSuffix(path, results.Ext) {
			return []string{path + ".superseded"}, nil
		}
		return nil, nil
	}
	return results.FilesUnder(path, supersededExt)
}

// protected says which entries must stay and why, by path: those of named
// stages and their inputs, and those of held stages and their inputs.
func (p *GCPlan) protected(entries []GCEntry, named map[string]bool) map[string]string {
	byID := map[string][]GCEntry{}
	for _, e := range entries {
		byID[e.ID] = append(byID[e.ID], e)
	}
	keep := map[string]string{}
	var mark func(id, why, inputWhy string)
	mark = func(id, why, inputWhy string) {
		for _, e := range byID[id] {
			if e.State == EntryRemoving || e.State == EntryCorrupt {
				continue
			}
			if _, done := keep[e.Path]; done {
				continue
			}
			keep[e.Path] = why
			for _, in := range entryInputs(e) {
				mark(in, inputWhy, inputWhy)
			}
		}
	}
	// Named stages first, so that one also read by another is said to be
	// named; then what they read.
	for id := range named {
		for _, e := range byID[id] {
			if e.State == EntryFinished || e.State == EntryPartial {
				keep[e.Path] = whyNamed
			}
		}
	}
	for id := range named {
		for _, e := range byID[id] {
			for _, in := range entryInputs(e) {
				mark(in, whyInput, whyInput)
			}
		}
	}
	legacy := false
	holders := map[int]bool{}
	for _, e := range entries {
		if e.State != EntryPartial && e.State != EntryFinished {
			continue
		}
		held, pid := heldBy(filepath.Join(p.Cache, e.Kind, e.ID+".lock"))
		if !held {
			continue
		}
		holders[pid] = true
		if _, ok := keep[e.Path]; !ok {
			keep[e.Path] = whyHeld
		}
		// What the stage reads: the inputs its runner listed, else those
		// of its finished folder's manifest (a runner checking it).
		ins, ok := heldInputs(filepath.Join(p.Cache, e.Kind, e.ID+".partial"))
		if !ok {
			for _, f := range byID[e.ID] {
				if f.State == EntryFinished {
					if m, err := readManifest(f.Path); err == nil && m != nil {
						ins, ok = m.Inputs, true
					}
				}
			}
		}
		if !ok {
			legacy = true
		}
		for _, in := range ins {
			mark(in, whyHeldInput, whyHeldInput)
		}
	}
	if legacy {
		for _, e := range entries {
			if _, ok := keep[e.Path]; !ok && e.State == EntryFinished {
				keep[e.Path] = whyHeldLegacy
			}
		}
	}
	for pid := range holders {
		p.Holders = append(p.Holders, pid)
	}
	sort.Ints(p.Holders)
	return keep
}

// entryInputs are the IDs of a finished entry's inputs, from its manifest.
func entryInputs(e GCEntry) []string {
	if e.State != EntryFinished {
		return nil
	}
	m, err := readManifest(e.Path)
	if err != nil || m == nil {
		return nil
	}
	return m.Inputs
}

// heldInputs reads the inputs a runner listed for the stage it builds in
// partial; false when it listed none.
func heldInputs(partial string) ([]string, bool) {
	var ins []string
	ok, err := readJSON(filepath.Join(partial, workDir, inputsName), &ins)
	return ins, ok && err == nil
}

// scanCache lists the entries of the cache folder dir: for each kind
// folder, every folder named by a stage ID (and a suffix), except the
// Slurm executor's folder.
func scanCache(dir string) ([]GCEntry, error) {
	kinds, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []GCEntry
	for _, k := range kinds {
		if !k.IsDir() || k.Name() == "slurm" {
			continue
		}
		items, err := os.ReadDir(filepath.Join(dir, k.Name()))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			m := entryName.FindStringSubmatch(it.Name())
			if m == nil || !it.IsDir() {
				continue
			}
			e := GCEntry{Kind: k.Name(), ID: m[1], Path: filepath.Join(dir, k.Name(), it.Name())}
			switch m[2] {
			case "":
				e.State = EntryFinished
			case ".partial":
				e.State = EntryPartial
			case ".corrupt":
				e.State = EntryCorrupt
			case ".gc":
				e.State = EntryRemoving
			}
			if man, err := readManifest(e.Path); err == nil && man != nil {
				e.Label = man.Label
			}
			if e.Bytes, e.Modified, err = du(e.Path); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}

// du is the size of the files under dir and the latest time one changed.
func du(dir string) (int64, time.Time, error) {
	var n int64
	var latest time.Time
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we looked (a runner committing)
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			n += fi.Size()
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
		return nil
	})
	return n, latest, err
}

// GCResult is what Apply removed and what it left because a runner took
// it, or something that reads it, after the plan was made.
type GCResult struct {
	Removed []GCEntry
	Skipped []GCEntry // Why says which runner took it
}

// Apply removes the plan's entries, each under its stage's lock. Before
// removing anything it plans again, and leaves an entry that has become
// held, an input of a held stage or named by a record since the plan.
func (p *GCPlan) Apply() (GCResult, error) {
	var res GCResult
	now, err := PlanGC(p.opts)
	if err != nil {
		return res, err
	}
	nowKept := map[string]string{}
	for _, e := range now.Keep {
		nowKept[e.Path] = e.Why
	}
	for _, e := range p.Remove {
		if why, ok := nowKept[e.Path]; ok {
			e.Why = why
			res.Skipped = append(res.Skipped, e)
			continue
		}
		lock, pid, err := tryLockFile(filepath.Join(p.Cache, e.Kind, e.ID+".lock"))
		if err != nil {
			return res, err
		}
		if lock == nil {
			e.Why = whyHeld + " (" + holder(pid) + ")"
			res.Skipped = append(res.Skipped, e)
			continue
		}
		err = removeEntry(e)
		lock.release()
		if err != nil {
			return res, fmt.Errorf("removing %s: %w", e.Path, err)
		}
		res.Removed = append(res.Removed, e)
	}
	return res, nil
}

// removeEntry renames e aside (<id>.gc) and deletes it.
func removeEntry(e GCEntry) error {
	aside := e.Path
	if e.State != EntryRemoving {
		aside = filepath.Join(filepath.Dir(e.Path), e.ID+".gc")
		if err := os.RemoveAll(aside); err != nil {
			return err
		}
		if err := os.Rename(e.Path, aside); err != nil {
			return err
		}
	}
	return os.RemoveAll(aside)
}

// writeInputs lists s's inputs in its .partial folder's work/, for a
// collection to keep them while s is built.
func writeInputs(work string, s *Stage) error {
	ids := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		ids[i] = in.ID()
	}
	data, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(work, inputsName), data)
}

// Kept counts the kept entries by why they are kept, in a fixed order.
func (p *GCPlan) Kept() []KeptCount {
	counts := map[string]*KeptCount{}
	var order []string
	for _, e := range p.Keep {
		c, ok := counts[e.Why]
		if !ok {
			c = &KeptCount{Why: e.Why}
			counts[e.Why] = c
			order = append(order, e.Why)
		}
		c.Entries++
		c.Bytes += e.Bytes
	}
	rank := []string{whyNamed, whyInput, whyHeld, whyHeldInput, whyHeldLegacy, whyRecent}
	slices.SortFunc(order, func(a, b string) int { return slices.Index(rank, a) - slices.Index(rank, b) })
	out := make([]KeptCount, len(order))
	for i, w := range order {
		out[i] = *counts[w]
	}
	return out
}

// KeptCount is how many entries are kept for one reason.
type KeptCount struct {
	Why     string
	Entries int
	Bytes   int64
}
