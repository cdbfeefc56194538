package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/results"
)

// recordColumns are the columns of WriteRecordsCSV every record fills, in
// order; the settings, the scale preset's keys ("scale.KEY") and the extra
// metrics ("metrics.NAME") follow.
var recordColumns = []string{
	"experiment", "row", "dataset", "split", "train_size", "seed", "metric", "value", "source", "scale",
	"engine", "machine", "git_commit", "git_dirty", "go_version", "started", "finished", "wall_seconds",
	"tokens_per_s", "config_hash", "note",
}

// WriteRecordsCSV writes recs as one CSV table, a line per record (a cell
// and seed) in recs' order, for pandas or R: first recordColumns, then one
// column per key of the records' resolved settings (the record's config's
// "settings", nested keys dotted: "lm_dropouts.output"), then the scale
// preset's ("scale.emb", "scale.max_train.imdb") and the extra metrics
// ("metrics.test_error"), each group sorted by name. Numbers keep the
// digits the records hold; a key a record does not have is an empty cell;
// times are RFC 3339. A record whose config is not JSON is an error naming
// where it was read.
func WriteRecordsCSV(w io.Writer, recs []results.Record) error {
	type flat struct{ settings, scale map[string]string }
	flats := make([]flat, len(recs))
	settingsKeys, scaleKeys, metricKeys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, r := range recs {
		f := flat{settings: map[string]string{}, scale: map[string]string{}}
		if len(r.Config) > 0 {
			var cfg struct {
				Settings map[string]any `json:"settings"`
				Scale    map[string]any `json:"scale"`
			}
			dec := json.NewDecoder(bytes.NewReader(r.Config))
			dec.UseNumber()
			if err := dec.Decode(&cfg); err != nil {
				return fmt.Errorf("%s: the record's config: %w", origin(r), err)
			}
			flatten(f.settings, "", cfg.Settings)
			delete(cfg.Scale, "name") // the scale column
			flatten(f.scale, "scale.", cfg.Scale)
		}
		for k := range f.settings {
			settingsKeys[k] = true
		}
		for k := range f.scale {
			scaleKeys[k] = true
		}
		for k := range r.Metrics {
			metricKeys["metrics."+k] = true
		}
		flats[i] = f
	}
	settings, scale, metrics := slices.Sorted(maps.Keys(settingsKeys)), slices.Sorted(maps.Keys(scaleKeys)), slices.Sorted(maps.Keys(metricKeys))
	cw := csv.NewWriter(w)
	header := slices.Concat(recordColumns, settings, scale, metrics)
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, r := range recs {
		line := []string{
			r.Experiment, r.Row, r.Dataset, r.Split, intText(int64(r.TrainSize)), strconv.FormatInt(r.Seed, 10), r.Metric,
			floatText(r.Value), r.Source, r.Scale, r.Engine, r.Machine, r.GitCommit, strconv.FormatBool(r.GitDirty), r.GoVersion,
			timeText(r.Started), timeText(r.Finished), floatText0(r.WallSeconds), floatText0(r.TokensPerS), r.ConfigHash, r.Note,
		}
		for _, k := range settings {
			line = append(line, flats[i].settings[k])
		}
		for _, k := range scale {
			line = append(line, flats[i].scale[k])
		}
		for _, k := range metrics {
			v, ok := r.Metrics[strings.TrimPrefix(k, "metrics.")]
			if ok {
				line = append(line, floatText(v))
			} else {
				line = append(line, "")
			}
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// flatten writes the leaves of m into out, nested keys dotted after
// prefix; a list is its JSON.
func flatten(out map[string]string, prefix string, m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			flatten(out, prefix+k+".", x)
		case string:
			out[prefix+k] = x
		case json.Number:
			out[prefix+k] = x.String()
		case bool:
			out[prefix+k] = strconv.FormatBool(x)
		case nil:
			out[prefix+k] = ""
		default:
			b, _ := json.Marshal(x)
			out[prefix+k] = string(b)
		}
	}
}

func origin(r results.Record) string {
	if r.Origin != "" {
		return r.Origin
	}
	return fmt.Sprintf("record %s/%s/%s seed %d", r.Experiment, r.Row, r.Dataset, r.Seed)
}

func floatText(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// floatText0 and intText leave a value the record does not have empty.
func floatText0(v float64) string {
	if v == 0 {
		return ""
	}
	return floatText(v)
}

func intText(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
