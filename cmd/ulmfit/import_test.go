package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// lmFixture saves a small (untrained) LM checkpoint and its vocabulary into
// dir as the pipeline lays them out: lm.ckpt with vocab.txt beside it.
func lmFixture(t *testing.T, dir string) (ckpt string, lm *model.LM, vocab *text.Vocab) {
	t.Helper()
	vocab, err := text.NewVocab(append(text.SpecialTokens(), "the", "cat", "sat", "on", "mat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vocab.Save(filepath.Join(dir, interop.LMVocabFile)); err != nil {
		t.Fatal(err)
	}
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = vocab.Len(), 6, 8, 2
	if lm, err = model.NewLM(compute.Default(), cfg, 3); err != nil {
		t.Fatal(err)
	}
	bias := lm.Params.Get("decoder.bias")
	for i := range bias {
		bias[i] = float32(i) / 10
	}
	if err := lm.Params.Set("decoder.bias", bias); err != nil {
		t.Fatal(err)
	}
	ckpt = filepath.Join(dir, "lm.ckpt")
	if err := model.SaveCheckpoint(ckpt, lm, vocab.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	return ckpt, lm, vocab
}

// TestExportTorchImport exports an LM checkpoint as a fastai PyTorch
// checkpoint (and safetensors and itos.pkl), imports it back, and gets the
// same parameters and vocabulary; then imports it onto another vocabulary.
func TestExportTorchImport(t *testing.T) {
	dir := t.TempDir()
	ckpt, lm, vocab := lmFixture(t, dir)
	pth, st, itos := filepath.Join(dir, "lm.pth"), filepath.Join(dir, "lm.safetensors"), filepath.Join(dir, "itos.pkl")
	var stdout bytes.Buffer
	err := dispatch(context.Background(), []string{"export-torch", "--lm", ckpt, "--out", pth, "--safetensors", st, "--itos", itos}, &stdout, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(stdout.String(), "wrote ") != 3 {
		t.Errorf("output %q, want three files written", stdout.String())
	}
	sd, err := interop.LoadTorch(pth)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sd.Tensors["0.rnns.1.module.weight_hh_l0"]; !ok {
		t.Errorf("the default export has no 0.rnns.1.module.weight_hh_l0: not fastai v1's layout")
	}
	raw, err := os.ReadFile(st)
	if err != nil {
		t.Fatal(err)
	}
	if sst, err := interop.ReadSafetensors(raw); err != nil || strings.Join(sst.Names, " ") != strings.Join(sd.Names, " ") {
		t.Errorf("safetensors: %v, keys %v, want the .pth's %v", err, sst, sd.Names)
	}

	out := filepath.Join(t.TempDir(), "imported.ckpt")
	stdout.Reset()
	if err := dispatch(context.Background(), []string{"import", "--pth", pth, "--itos", itos, "--out", out}, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	back, err := text.LoadVocab(filepath.Join(filepath.Dir(out), interop.LMVocabFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash() != vocab.Hash() {
		t.Errorf("imported vocabulary %v, want %v", back.Tokens(), vocab.Tokens())
	}
	got, err := model.LoadLM(compute.Default(), out, vocab.Hash())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range lm.Params.Names() {
		want, have := lm.Params.Get(name), got.Params.Get(name)
		for i := range want {
			if have[i] != want[i] {
				t.Errorf("%s[%d] = %g after export and import, want %g", name, i, have[i], want[i])
				break
			}
		}
	}

	// Onto another vocabulary: "cat" keeps its row, "dog" gets the mean.
	other, err := text.NewVocab(append(text.SpecialTokens(), "dog", "cat"))
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(t.TempDir(), "other.vocab")
	if err := other.Save(otherPath); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "converted.ckpt")
	stdout.Reset()
	if err := dispatch(context.Background(), []string{"import", "--pth", pth, "--itos", itos, "--vocab", otherPath, "--out", out}, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "10 of its 11 tokens") {
		t.Errorf("output %q, want it to count the 10 known tokens of 11", stdout.String())
	}
	conv, err := model.LoadLM(compute.Default(), out, other.Hash())
	if err != nil {
		t.Fatal(err)
	}
	E := 6
	oldEnc, newEnc := lm.Params.Get("encoder.weight"), conv.Params.Get("encoder.weight")
	cat, catOld := int(other.ID("cat")), int(vocab.ID("cat"))
	for e := range E {
		if newEnc[cat*E+e] != oldEnc[catOld*E+e] {
			t.Errorf("cat's embedding[%d] = %g, want its row from before, %g", e, newEnc[cat*E+e], oldEnc[catOld*E+e])
		}
	}
}

func TestImportExportTorchErrors(t *testing.T) {
	dir := t.TempDir()
	ckpt, _, _ := lmFixture(t, dir)
	notTorch := filepath.Join(dir, "notes.pth")
	if err := os.WriteFile(notTorch, []byte("just some text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pth, itos := filepath.Join(dir, "lm.pth"), filepath.Join(dir, "itos.pkl")
	if err := dispatch(context.Background(), []string{"export-torch", "--lm", ckpt, "--out", pth, "--itos", itos}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	shortItos := filepath.Join(dir, "short.pkl")
	if err := interop.SaveItos(shortItos, []string{"xxunk", "xxpad"}); err != nil {
		t.Fatal(err)
	}
	fastaiOrder := filepath.Join(dir, "fastai-order.pkl")
	tokens := append(text.SpecialTokens(), "the", "cat", "sat", "on", "mat")
	tokens[0], tokens[1] = tokens[1], tokens[0]
	if err := interop.SaveItos(fastaiOrder, tokens); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "x.ckpt")
	fresh := filepath.Join(dir, "fresh.pth") // never written: each case stops first
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"import: no --pth":                    {[]string{"import", "--itos", itos, "--out", out}, 2, "--pth, --itos and --out are required"},
		"import: not a .pth":                  {[]string{"import", "--pth", notTorch, "--itos", itos, "--out", out}, 2, notTorch},
		"import: missing itos":                {[]string{"import", "--pth", pth, "--itos", filepath.Join(dir, "nope.pkl"), "--out", out}, 2, "nope.pkl"},
		"import: itos too short":              {[]string{"import", "--pth", pth, "--itos", shortItos, "--out", out}, 2, "lists 2 tokens"},
		"import: special tokens":              {[]string{"import", "--pth", pth, "--itos", fastaiOrder, "--out", out}, 2, "--vocab"},
		"export-torch: no --out":              {[]string{"export-torch", "--lm", ckpt}, 2, "one of --lm and --classifier, and --out, are required"},
		"export-torch: both":                  {[]string{"export-torch", "--lm", ckpt, "--classifier", ckpt, "--out", fresh}, 2, "one of --lm and --classifier"},
		"export-torch: v2 head":               {[]string{"export-torch", "--classifier", ckpt, "--out", fresh, "--fastai", "v2"}, 2, "v1's layout only"},
		"export-torch: an LM as a classifier": {[]string{"export-torch", "--classifier", ckpt, "--out", fresh}, 2, ckpt},
		"export-torch: layout":                {[]string{"export-torch", "--lm", ckpt, "--out", fresh, "--fastai", "v3"}, 2, "v3"},
		"export-torch: not a LM":              {[]string{"export-torch", "--lm", notTorch, "--out", fresh}, 2, notTorch},
		"export-torch: no vocab":              {[]string{"export-torch", "--lm", ckpt, "--out", fresh, "--itos", filepath.Join(dir, "fresh.pkl"), "--vocab", notTorch}, 2, notTorch},
		"export-torch: bad place":             {[]string{"export-torch", "--lm", ckpt, "--out", filepath.Join(notTorch, "dir.pth")}, 2, "a file is where its folder would be"},
		// An output that is an input, or a folder, even with --force.
		"import: --out is --pth":        {[]string{"import", "--pth", pth, "--itos", itos, "--out", pth, "--force"}, 2, "is an input of this command and its output"},
		"export-torch: --out is --lm":   {[]string{"export-torch", "--lm", ckpt, "--out", ckpt, "--force"}, 2, "is an input of this command and its output"},
		"export-torch: --itos is vocab": {[]string{"export-torch", "--lm", ckpt, "--out", fresh, "--itos", filepath.Join(filepath.Dir(ckpt), "vocab.txt"), "--force"}, 2, "is an input"},
		"import: --out a folder":        {[]string{"import", "--pth", pth, "--itos", itos, "--out", dir, "--force"}, 2, "is a folder"},
		"export-torch: --out a folder":  {[]string{"export-torch", "--lm", ckpt, "--out", dir, "--force"}, 2, "is a folder"},
	} {
		err := dispatch(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v (exit %d), want exit %d mentioning %q", name, err, exitCode(err), tc.code, tc.msg)
		}
	}
}

// TestExportTorchClassifier exports a classifier checkpoint, finding its
// vocabulary beside it, in fastai v1's text classifier layout.
func TestExportTorchClassifier(t *testing.T) {
	dir := t.TempDir()
	_, _, vocab := lmFixture(t, dir)
	cfg := model.ClassifierConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = vocab.Len(), 6, 8, 2
	c, err := model.NewClassifier(compute.Default(), cfg, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "classifier.ckpt")
	if err := model.SaveClassifier(ckpt, c, vocab.Hash()); err != nil {
		t.Fatal(err)
	}
	pth := filepath.Join(dir, "classifier.pth")
	var stdout bytes.Buffer
	if err := dispatch(context.Background(), []string{"export-torch", "--classifier", ckpt, "--out", pth}, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	sd, err := interop.LoadTorch(pth)
	if err != nil {
		t.Fatal(err)
	}
	for key, shape := range map[string][]int{
		"0.module.encoder.weight": {vocab.Len(), 6},
		"1.layers.0.running_var":  {18},
		"1.layers.2.weight":       {c.Head.Hidden, 18},
		"1.layers.6.weight":       {3, c.Head.Hidden},
	} {
		if _, err := sd.Tensor(key, shape...); err != nil {
			t.Error(err)
		}
	}
}
