package experiments

import (
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
)

// precision is a setting like any other: [defaults], a row and a grid
// axis set it, a row's own value wins over [defaults], a row whose id is
// a precision takes its label, and a value that is not a precision stops
// the load at the axis's line. tf32 loads like the others; only the
// planner knows it needs a GPU.
func TestPrecisionKey(t *testing.T) {
	e, err := Parse([]byte(`title = "Precision"
tasks = ["trec6"]

[defaults]
precision = "bf16"

[[rows]]
id = "bf16"

[[rows]]
id = "fp32"
precision = "fp32"

[[rows]]
id = "tf32"
precision = "tf32"

[[grids]]
[grids.axes]
precision = ["fp32", "tf32", "bf16"]
classifier_lr = [0.01]
`), "p.toml", "p", "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"bf16": ablations.PrecisionBF16, "fp32": ablations.PrecisionFP32, "tf32": ablations.PrecisionTF32,
		"precision=fp32+classifier_lr=0.01": ablations.PrecisionFP32, "precision=tf32+classifier_lr=0.01": ablations.PrecisionTF32,
		"precision=bf16+classifier_lr=0.01": ablations.PrecisionBF16}
	labels := map[string]string{"bf16": "bfloat16 products", "fp32": "float32 products", "tf32": "TensorFloat-32 products"}
	if len(e.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(e.Rows), len(want))
	}
	for _, r := range e.Rows {
		if got := r.Settings.Precision; got != want[r.ID] {
			t.Errorf("row %s: precision %q, want %q", r.ID, got, want[r.ID])
		}
		if l, ok := labels[r.ID]; ok && r.Label != l {
			t.Errorf("row %s: label %q, want the variant's %q", r.ID, r.Label, l)
		}
	}

	_, err = Parse([]byte(`title = "Precision"
tasks = ["trec6"]

[[grids]]
[grids.axes]
precision = ["fp32", "fp16"]
`), "g.toml", "g", "")
	if err == nil || !strings.HasPrefix(err.Error(), "g.toml:6: grids[0].axes.precision") || !strings.Contains(err.Error(), `"fp16" is not a known value`) || !strings.Contains(err.Error(), `"fp32", "tf32", "bf16"`) {
		t.Errorf("a grid over precision fp16: %v; want an error at g.toml:6 naming the valid precisions", err)
	}
}
