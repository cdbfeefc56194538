package report

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ProfileFile is one file of GPU profiles (the project's are under
// bench/profiles/): its name and its contents, gzip-compressed where the
// name ends in .gz.
//
// Two kinds are read, each named DATE-CARD-...-RUN, where RUN is the
// commit the profiled binary was built at, with a tag after a dash where
// the build carried an uncommitted trial (b3e32f2-lt):
//
//   - DATE-CARD-step-PRECISION-RUN.log: TestProfilePaperStep's output
//     (compute/cuda, scripts/gpu-profile.sh step), a line a timing;
//   - DATE-CARD-PRECISION-RUN.csv.gz: TestProfileStepKernels under NVIDIA's
//     kernel profiler (ncu --metrics gpu__time_duration.sum --csv,
//     scripts/gpu-profile.sh kernels), a row a kernel launch.
type ProfileFile struct {
	Name string
	Data []byte
}

var (
	stepLogName    = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})-([A-Za-z0-9]+)-step-([a-z0-9]+)-([0-9a-f]{7,}(?:-[A-Za-z0-9]+)?)\.log$`)
	kernelCSVName  = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})-([A-Za-z0-9]+)-([a-z0-9]+)-([0-9a-f]{7,}(?:-[A-Za-z0-9]+)?)\.csv\.gz$`)
	stepTimingLine = regexp.MustCompile(`^\s*profile_test\.go:\d+: (\S+)\s+(.+?)\s+([0-9.]+) ms\s+\(host issue\s+([0-9.]+) ms\)\s*$`)
)

// stepProfileTable lays out the full-step timings of run's step logs: a row
// a way of running the step ("full step (device masks)", "..., cells as
// dependent launches"), a column a configuration the logs timed ("bf16",
// "tf32/streams"), ms a step; below it, the files it read.
func stepProfileTable(files []ProfileFile, run string) (string, error) {
	var used []string
	var configs, ways []string
	ms := map[[2]string]string{}
	for _, f := range files {
		m := stepLogName.FindStringSubmatch(f.Name)
		if m == nil || m[4] != run {
			continue
		}
		used = append(used, "`"+f.Name+"`")
		found := false
		for i, line := range strings.Split(string(f.Data), "\n") {
			t := stepTimingLine.FindStringSubmatch(line)
			if t == nil || !strings.HasPrefix(t[2], "full step") {
				continue
			}
			if _, err := strconv.ParseFloat(t[3], 64); err != nil {
				return "", fmt.Errorf("%s:%d: %q is not a time in ms", f.Name, i+1, t[3])
			}
			config, way := t[1], t[2]
			if !slices.Contains(configs, config) {
				configs = append(configs, config)
			}
			if !slices.Contains(ways, way) {
				ways = append(ways, way)
			}
			ms[[2]string{way, config}] = t[3]
			found = true
		}
		if !found {
			return "", fmt.Errorf("%s: no full-step timing (lines of TestProfilePaperStep's output)", f.Name)
		}
	}
	if len(used) == 0 {
		return "", fmt.Errorf("no step profile of run %s (files named DATE-CARD-step-PRECISION-%s.log)", run, run)
	}
	var rows [][]string
	for _, w := range ways {
		row := []string{w}
		for _, c := range configs {
			row = append(row, cmp.Or(ms[[2]string{w, c}], "—"))
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	if err := gridTable(&b, append([]string{"Full step, ms"}, configs...), rows, true); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nFrom %s (bench/profiles/).\n", strings.Join(used, ", "))
	return b.String(), nil
}

// kernelUse is one kernel's share of a profiled step.
type kernelUse struct {
	name     string
	launches int
	us       float64
}

// lastStepKernels reads a TestProfileStepKernels profile and sums its last
// step by kernel, largest first. The test runs three steps of the same
// kernels, each with one embedding gather, so a step is as many launches as
// lie between the second gather and the third, and the last step is that
// many at the end.
func lastStepKernels(f ProfileFile) ([]kernelUse, float64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(f.Data))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", f.Name, err)
	}
	// The profiler's log has lines of its own (==PROF== ...) before the CSV.
	var quoted []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, `"`) {
			quoted = append(quoted, line)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(quoted, "\n"))).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, 0, fmt.Errorf("%s: not an ncu CSV log (%v)", f.Name, err)
	}
	name, unit, value := slices.Index(rows[0], "Kernel Name"), slices.Index(rows[0], "Metric Unit"), slices.Index(rows[0], "Metric Value")
	if name < 0 || unit < 0 || value < 0 {
		return nil, 0, fmt.Errorf("%s: the CSV lacks one of the columns \"Kernel Name\", \"Metric Unit\" and \"Metric Value\"", f.Name)
	}
	perUS := map[string]float64{"ns": 1e3, "nsecond": 1e3, "us": 1, "usecond": 1, "ms": 1e-3, "msecond": 1e-3}
	rows = rows[1:]
	var gathers []int
	for i, r := range rows {
		if strings.HasPrefix(r[name], "gather") {
			gathers = append(gathers, i)
		}
	}
	if len(gathers) < 3 {
		return nil, 0, fmt.Errorf("%s: %d steps (gather kernels), want TestProfileStepKernels' three", f.Name, len(gathers))
	}
	step := rows[len(rows)-(gathers[2]-gathers[1]):]
	by := map[string]*kernelUse{}
	var total float64
	for i, r := range step {
		v, err := strconv.ParseFloat(strings.ReplaceAll(r[value], ",", ""), 64)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: row %d of the last step: duration %q: %v", f.Name, i+1, r[value], err)
		}
		div, ok := perUS[r[unit]]
		if !ok {
			return nil, 0, fmt.Errorf("%s: row %d of the last step: unit %q, expected ns, us or ms", f.Name, i+1, r[unit])
		}
		us := v / div
		k, _, _ := strings.Cut(r[name], "(")
		u := by[k]
		if u == nil {
			u = &kernelUse{name: k}
			by[k] = u
		}
		u.launches++
		u.us += us
		total += us
	}
	var uses []kernelUse
	for _, u := range by {
		uses = append(uses, *u)
	}
	slices.SortFunc(uses, func(a, b kernelUse) int { return cmp.Or(cmp.Compare(b.us, a.us), strings.Compare(a.name, b.name)) })
	return uses, total, nil
}

// kernelProfileTable lays out the largest kernels of the last profiled
// step at precision of run: a row a kernel (its launches, µs and share of
// the step's kernel time), top of them and one row for the rest.
func kernelProfileTable(files []ProfileFile, precision, run string, top int) (string, error) {
	for _, f := range files {
		m := kernelCSVName.FindStringSubmatch(f.Name)
		if m == nil || m[3] != precision || m[4] != run {
			continue
		}
		uses, total, err := lastStepKernels(f)
		if err != nil {
			return "", err
		}
		var rows [][]string
		row := func(name string, launches int, us float64) []string {
			return []string{name, strconv.Itoa(launches), fmt.Sprintf("%.0f", us), fmt.Sprintf("%.1f%%", 100*us/total)}
		}
		rest, restN := 0.0, 0
		launches := 0
		for i, u := range uses {
			launches += u.launches
			if i < top {
				name := u.name
				if len(name) > 72 {
					name = name[:72] + "…"
				}
				rows = append(rows, row(name, u.launches, u.us)) // no code span: the table escapes underscores, which a code span would show
				continue
			}
			rest += u.us
			restN += u.launches
		}
		if restN > 0 {
			rows = append(rows, row(fmt.Sprintf("the other %d kernels", len(uses)-top), restN, rest))
		}
		rows = append(rows, row("all", launches, total))
		var b strings.Builder
		if err := gridTable(&b, []string{"Kernel (" + precision + ", last step)", "Launches", "µs", "Share"}, rows, true); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\nFrom `%s` (bench/profiles/).\n", f.Name)
		return b.String(), nil
	}
	return "", fmt.Errorf("no kernel profile of %s at %s (a file named DATE-CARD-%s-%s.csv.gz)", run, precision, precision, run)
}
