package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// The import stage stands in for corpus + pretrain when a row names a
// pretrained LM (ablations.PretrainedLM): it reads the fastai state dict
// and itos.pkl (interop.LoadFastaiLM) and writes what a pretrain stage
// writes, lm.ckpt and vocab.txt, so LM fine-tuning and the classifier read
// it as they read our own pretrained LM; each task's vocabulary is then
// mapped onto it as fastai's convert_weights does (model.LoadPretrainedLM:
// tokens the LM knows keep their rows, new ones start at the mean
// embedding row and mean decoder bias).
//
// Its key is the SHA-256 of the two files (and the registry name, when
// there is one), the LM's configuration and the stage's code version: the
// same files give the same stage wherever they are.

// importedLM is a pretrained LM resolved at plan time: its files, their
// digests and the model's dimensions.
type importedLM struct {
	spec       ablations.PretrainedLM
	pth, itos  string
	pthSHA256  string
	itosSHA256 string
	zoo        *datasets.PretrainedFiles // a registry model's folder and fetch record; nil for files
	dims       model.Config              // Vocab, Emb, Hidden and Layers of the state dict
}

// name is how plans, records and reports name it: the registry name, or
// the state dict's file name.
func (m *importedLM) name() string {
	if m.spec.Name != "" {
		return m.spec.Name
	}
	return filepath.Base(m.pth)
}

// source says where it came from.
func (m *importedLM) source() string {
	if m.zoo != nil {
		return m.zoo.Source()
	}
	return m.pth
}

// pretrained resolves spec: a registry model on the data search path
// (checked against the registry) or two files, hashed, and the state
// dict's shapes read. It is done once per spec and planner.
func (p *Planner) pretrained(spec ablations.PretrainedLM) (*importedLM, error) {
	if p.imports == nil {
		p.imports = map[ablations.PretrainedLM]*importLoaded{}
	}
	if l, ok := p.imports[spec]; ok {
		return l.lm, l.err
	}
	lm, err := p.resolvePretrained(spec)
	p.imports[spec] = &importLoaded{lm: lm, err: err}
	return lm, err
}

type importLoaded struct {
	lm  *importedLM
	err error
}

func (p *Planner) resolvePretrained(spec ablations.PretrainedLM) (*importedLM, error) {
	m := &importedLM{spec: spec, pth: spec.Pth, itos: spec.Itos}
	if spec.Name != "" {
		zoo, err := datasets.LocatePretrained(spec.Name, p.DataDir)
		if err != nil {
			return nil, err
		}
		m.zoo, m.pth, m.itos = zoo, zoo.Pth, zoo.Itos
		m.pthSHA256, m.itosSHA256 = zoo.Record.Files[filepath.Base(zoo.Pth)], zoo.Record.Files[filepath.Base(zoo.Itos)]
	} else {
		var err error
		if m.pthSHA256, err = fileSHA256(m.pth); err != nil {
			return nil, fmt.Errorf("pretrained LM: %w", err)
		}
		if m.itosSHA256, err = fileSHA256(m.itos); err != nil {
			return nil, fmt.Errorf("pretrained LM: %w", err)
		}
	}
	sd, err := interop.LoadTorch(m.pth)
	if err != nil {
		return nil, fmt.Errorf("pretrained LM %s: %w", spec, err)
	}
	m.dims, err = interop.FastaiConfig(sd, model.Config{})
	if err != nil {
		return nil, fmt.Errorf("pretrained LM %s: %s: %w", spec, m.pth, err)
	}
	return m, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dimsText writes a model's shape as plans and notes do: "400/1152x3".
func dimsText(emb, hidden, layers int) string { return fmt.Sprintf("%d/%dx%d", emb, hidden, layers) }

// adoptDims returns sc with the shape d of the pretrained LM name (an
// imported or zoo model), and a note when the scale said another: the
// pretrained weights decide the model's size, the scale still decides the
// data and the epochs.
func adoptDims(sc ablations.Scale, name string, d model.Config) (ablations.Scale, string) {
	if sc.Emb == d.Emb && sc.Hidden == d.Hidden && sc.Layers == d.Layers {
		return sc, ""
	}
	note := fmt.Sprintf("AWD-LSTM %s from the pretrained LM %s (scale %s says %s)", dimsText(d.Emb, d.Hidden, d.Layers), name,
		sc.Name, dimsText(sc.Emb, sc.Hidden, sc.Layers))
	sc.Emb, sc.Hidden, sc.Layers = d.Emb, d.Hidden, d.Layers
	return sc, note
}

type importKey struct {
	Name  string            `json:"name,omitempty"` // the registry name
	Files map[string]string `json:"files"`          // "pth", "itos" -> SHA-256
	Model model.Config      `json:"model"`          // the LM as fine-tuning starts from it; Vocab 0: the input's
}

// importStage plans the import of m for a chain with settings s at scale
// sc (whose shape is m's).
func (b *builder) importStage(m *importedLM, s ablations.Settings) *Stage {
	key := importKey{Name: m.spec.Name, Files: map[string]string{"pth": m.pthSHA256, "itos": m.itosSHA256}, Model: s.LMConfig(b.sc, 0)}
	job := importJob{be: b.p.Backend, lm: m, cfg: s.LMConfig(b.sc, 0)}
	return &Stage{Kind: KindImport, Code: CodeVersion(KindImport),
		Label: fmt.Sprintf("import %s (%s, %s)", m.name(), dimsText(m.dims.Emb, m.dims.Hidden, m.dims.Layers), m.source()),
		Key:   key, Work: Work{Tokens: int64(m.dims.Vocab)},
		Run: job.run,
	}
}

// importResult is an import stage's result.
type importResult struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	Pth        string `json:"pth"`
	Itos       string `json:"itos"`
	PthSHA256  string `json:"pth_sha256"`
	ItosSHA256 string `json:"itos_sha256"`
	ArchiveMD5 string `json:"archive_md5,omitempty"` // a registry model's archive, as fetched
	Model      string `json:"model"`                 // "400/1152x3"
	ItosTokens int    `json:"itos_tokens"`
	Vocab      int    `json:"vocab"`
	VocabHash  string `json:"vocab_hash"`
	// Notes say where the stored vocabulary differs from itos.pkl.
	Notes []string `json:"notes,omitempty"`
}

type importJob struct {
	be  compute.Backend
	lm  *importedLM
	cfg model.Config // dropouts and AR/TAR of the row; the shape is the state dict's
}

// run converts the state dict. The stored vocabulary is ours, so it
// starts with our nine special tokens: itos.pkl's tokens follow in its
// order, and a special token itos.pkl lacks starts at the mean row, as a
// task's new tokens do.
func (j importJob) run(_ context.Context, x *Exec) (any, error) {
	m := j.lm
	for _, f := range []struct{ path, want string }{{m.pth, m.pthSHA256}, {m.itos, m.itosSHA256}} {
		got, err := fileSHA256(f.path)
		if err != nil {
			return nil, err
		}
		if got != f.want {
			return nil, fmt.Errorf("%s changed since the plan (sha256 %s, planned %s): run again to plan with it", f.path, got, f.want)
		}
	}
	lm, itos, err := interop.LoadFastaiLM(j.be, m.pth, m.itos)
	if err != nil {
		return nil, err
	}
	tokens, notes := vocabOf(itos)
	conv, err := interop.ConvertLM(lm, itos, tokens)
	if err != nil {
		return nil, err
	}
	vocab, err := text.NewVocab(tokens)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.itos, err)
	}
	cfg := j.cfg
	cfg.Vocab = vocab.Len()
	out, err := model.NewLM(j.be, cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := out.Params.CopyFrom(conv.Params); err != nil {
		return nil, err
	}
	x.AddTokens(int64(len(itos)))
	if err := model.SaveCheckpoint(filepath.Join(x.Dir, fileLMCheckpoint), out, vocab.Hash(), nil); err != nil {
		return nil, err
	}
	if err := vocab.Save(filepath.Join(x.Dir, fileVocab)); err != nil {
		return nil, err
	}
	res := importResult{Name: m.name(), Source: m.source(), Pth: m.pth, Itos: m.itos, PthSHA256: m.pthSHA256, ItosSHA256: m.itosSHA256,
		Model: dimsText(cfg.Emb, cfg.Hidden, cfg.Layers), ItosTokens: len(itos), Vocab: vocab.Len(), VocabHash: vocab.Hash(), Notes: notes}
	if m.zoo != nil {
		res.ArchiveMD5 = m.zoo.Record.MD5
	}
	return res, nil
}

// vocabOf lays fastai's itos out as our vocabulary: the special tokens
// first, then itos's others in order; tokens a vocabulary file cannot hold
// (empty, or with a tab or line break) and repeats are left out.
func vocabOf(itos []string) ([]string, []string) {
	specials := text.SpecialTokens()
	out := append([]string(nil), specials...)
	seen := map[string]bool{}
	for _, s := range specials {
		seen[s] = true
	}
	have := map[string]bool{}
	var dropped []string
	for _, tok := range itos {
		have[tok] = true
		switch {
		case seen[tok]:
		case tok == "" || strings.ContainsAny(tok, "\t\n\r"):
			dropped = append(dropped, fmt.Sprintf("%q", tok))
		default:
			seen[tok] = true
			out = append(out, tok)
		}
	}
	var notes []string
	var missing []string
	for _, s := range specials {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		notes = append(notes, fmt.Sprintf("itos.pkl lacks the special token%s %s: %s at the mean embedding row",
			plural(len(missing)), strings.Join(missing, " "), map[bool]string{true: "it starts", false: "they start"}[len(missing) == 1]))
	}
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("%d token%s of itos.pkl a vocabulary file cannot hold left out: %s",
			len(dropped), plural(len(dropped)), strings.Join(dropped, " ")))
	}
	return out, notes
}

// plural is internal/english's Plural(n, "", "s"), kept here because the
// import stage's code version covers it: using the shared one would give
// every imported LM, and what was fine-tuned from it, a new stage ID.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
