package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/zoo"
)

// 'ulmfit zoo add' makes an entry from a row's pretrain stage, 'list' and
// 'verify' show and check it, 'plan' starts a row from it in place of
// pretraining; a damaged entry stops 'plan' and 'verify' with exit 2,
// naming the file.
func TestZooCommands(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	cache, z := filepath.Join(dir, "cache"), filepath.Join(dir, "zoo")
	t.Setenv(zoo.EnvDir, z)
	if out, errOut, code := runCmd(t, "run", exp, "--cache", cache, "--results", filepath.Join(dir, "results"), "--only", "ulmfit"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code := runCmd(t, "zoo", "add", "--experiment", exp, "--row", "ulmfit", "--name", "toy-lm-fwd", "--cache", cache)
	if code != 0 || !strings.Contains(out, "added "+filepath.Join(z, "toy-lm-fwd")) || !strings.Contains(out, "tokens of toy") {
		t.Fatalf("zoo add: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = runCmd(t, "zoo", "list", "--format", "md")
	if code != 0 || !strings.Contains(out, "| toy-lm-fwd | AWD-LSTM 8/16x3, forward,") || !strings.Contains(out, exp+" row ulmfit") {
		t.Errorf("zoo list: exit %d\n%s", code, out)
	}
	out, _, code = runCmd(t, "zoo", "verify")
	if code != 0 || !strings.Contains(out, "ok toy-lm-fwd") {
		t.Errorf("zoo verify: exit %d\n%s", code, out)
	}

	plan, errOut, code := runCmd(t, "plan", exp, "--cache", cache, "--pretrained", "zoo:toy-lm", "--only", "ulmfit")
	if code != 0 || !strings.Contains(plan, "zoo toy-lm-fwd (8/16x3, toy, sha256") || strings.Contains(plan, "pretrain toy") {
		t.Errorf("plan --pretrained zoo:toy-lm: exit %d\n%s\n%s", code, plan, errOut)
	}
	if plan, _, code := runCmd(t, "plan", exp, "--cache", cache, "--pretrained", "ours", "--only", "ulmfit"); code != 0 || !strings.Contains(plan, "pretrain toy") {
		t.Errorf("plan --pretrained ours: exit %d\n%s", code, plan)
	}

	// Stored again in bfloat16, under another name: smaller, verified,
	// and a plan from it reads the bf16 entry.
	out, errOut, code = runCmd(t, "zoo", "add", "--from", "toy-lm-fwd", "--name", "toy16-lm-fwd", "--storage", "bf16")
	if code != 0 || !strings.Contains(out, "added "+filepath.Join(z, "toy16-lm-fwd")) || !strings.Contains(out, " in bf16 of ") ||
		!strings.Contains(out, "from the entry "+filepath.Join(z, "toy-lm-fwd")) {
		t.Fatalf("zoo add --from --storage bf16: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = runCmd(t, "zoo", "verify", "toy16-lm-fwd")
	if code != 0 || !strings.Contains(out, "ok toy16-lm-fwd: lm.ckpt.xz (bf16)") || !strings.Contains(out, "widened to fp32") {
		t.Errorf("zoo verify of the bf16 entry: exit %d\n%s", code, out)
	}
	plan, errOut, code = runCmd(t, "plan", exp, "--cache", cache, "--pretrained", "zoo:toy16-lm", "--only", "ulmfit")
	if code != 0 || !strings.Contains(plan, "zoo toy16-lm-fwd (8/16x3, toy, bf16, sha256") {
		t.Errorf("plan --pretrained zoo:toy16-lm: exit %d\n%s\n%s", code, plan, errOut)
	}
	manifest := filepath.Join(z, "toy16-lm-fwd", zoo.ManifestFile)
	mdata, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte(strings.Replace(string(mdata), `"storage": "bf16"`, `"storage": "fp16"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"zoo", "verify", "toy16-lm-fwd"}, {"plan", exp, "--cache", cache, "--pretrained", "zoo:toy16-lm"}} {
		out, errOut, code := runCmd(t, args...)
		if code != 2 || !strings.Contains(errOut, manifest+`: storage "fp16": want "fp32" (the default) or "bf16"`) {
			t.Errorf("%v with a manifest naming storage fp16: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}

	ckpt := filepath.Join(z, "toy-lm-fwd", zoo.CheckpointFile)
	data, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(ckpt, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", exp, "--cache", cache, "--pretrained", "zoo:toy-lm"},
		{"run", exp, "--cache", cache, "--pretrained", "zoo:toy-lm"},
		{"zoo", "verify", "toy-lm-fwd"},
	} {
		out, errOut, code := runCmd(t, args...)
		if code != 2 || !strings.Contains(errOut, ckpt+": sha256 ") || !strings.Contains(errOut, "the manifest says") ||
			!strings.Contains(errOut, "(altered)") || !strings.Contains(errOut, "make it again: ") ||
			!strings.Contains(errOut, "ulmfit zoo add --experiment "+exp+" --row ulmfit --name toy-lm-fwd --force") {
			t.Errorf("%v with an altered checkpoint: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"zoo"}, "no action given"},
		{[]string{"zoo", "grow"}, `unknown action "grow"`},
		{[]string{"zoo", "add", "--stage", cache}, "--name is required"},
		{[]string{"zoo", "add", "--name", "x-fwd"}, "name the pretrain stage"},
		{[]string{"zoo", "add", "--name", "x-fwd", "--stage", filepath.Join(cache, "corpus")}, "holds no stage.json"},
		{[]string{"zoo", "add", "--name", "toy-lm-bwd", "--experiment", exp, "--row", "ulmfit", "--cache", cache}, "pretrains no backward LM"},
		{[]string{"zoo", "add", "--name", "toy-lm-fwd", "--experiment", exp, "--row", "ulmfit", "--cache", cache}, "--force"},
		{[]string{"zoo", "add", "--name", "toy-lm-fwd", "--experiment", exp, "--row", "nope", "--cache", cache}, `no row "nope"`},
		{[]string{"zoo", "list", "--format", "csv"}, `--format "csv"`},
		{[]string{"zoo", "add", "--name", "toy-lm-fwd", "--experiment", exp, "--row", "ulmfit", "--cache", cache, "--storage", "fp16", "--force"},
			`--storage "fp16": want fp32 (the default) or bf16`},
		{[]string{"zoo", "add", "--from", "toy-lm-fwd", "--stage", cache, "--name", "x-fwd"}, "--from takes an entry of the zoo"},
		{[]string{"zoo", "add", "--from", "nope-fwd", "--name", "x-fwd"}, "has no entry nope-fwd"},
		{[]string{"zoo", "add", "--from", "toy-lm-fwd", "--name", "x-fwd", "--storage", "bf16"}, "(altered)"},
		{[]string{"zoo", "verify", "toy-lm-bwd"}, "has no entry toy-lm-bwd (it holds toy-lm-fwd"},
		{[]string{"plan", exp, "--pretrained", "zoo:"}, `--pretrained "zoo:"`},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// zoo verify of a whole zoo fails an entry folder that lost its manifest
// (it was passed over, exit 0), and a zoo folder that is not there, or not
// a folder, is exit 2 (it said "no entries", exit 0).
func TestZooVerifyWholeFolder(t *testing.T) {
	z := t.TempDir()
	if err := os.MkdirAll(filepath.Join(z, "lost-lm-fwd"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "zoo", "verify", "--zoo", z)
	if code != 2 || !strings.Contains(out, "FAILED lost-lm-fwd") || !strings.Contains(errOut, zoo.ManifestFile) {
		t.Errorf("an entry without its manifest: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, bad := range []string{filepath.Join(z, "nowhere"), filepath.Join("testdata", "..", "zoo_test.go")} {
		if _, errOut, code := runCmd(t, "zoo", "verify", "--zoo", bad); code != 2 || !strings.Contains(errOut, bad) {
			t.Errorf("zoo verify --zoo %s: exit %d, %s", bad, code, errOut)
		}
	}
}
