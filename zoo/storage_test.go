package zoo

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// An entry stored in bfloat16 reads back as the tensors its stored file
// holds, widened by hand (each bfloat16 the upper half of a float32), which
// are the source's parameters rounded to the nearest bfloat16; its manifest
// says how it is stored, what it was rounded from and the digest of the
// widened checkpoint, not the source's.
func TestBF16EntryReadsAsWidenedByHand(t *testing.T) {
	src, z := t.TempDir(), t.TempDir()
	ckpt, vocab := tinyLM(t, src)
	if _, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made(), Storage: StorageBF16}, false); err != nil {
		t.Fatal(err)
	}
	e, err := Open(z, "tiny-wiki-fwd")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := sumFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if e.Storage != StorageBF16 || e.RoundedFrom == nil || *e.RoundedFrom != orig || e.Checkpoint == orig {
		t.Errorf("manifest: storage %q, rounded from %+v, checkpoint %+v; want bf16, rounded from the source %+v, and another checkpoint",
			e.Storage, e.RoundedFrom, e.Checkpoint, orig)
	}
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "lm.ckpt")
	if err := e.Extract(out); err != nil {
		t.Fatal(err)
	}
	got, err := model.ReadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}

	stored := xzContents(t, e.Path(CheckpointFile))
	if magic := string(stored[:8]); magic != "ULMFITBF" {
		t.Fatalf("the stored checkpoint starts with %q, want a bfloat16 checkpoint's ULMFITBF", magic)
	}
	hlen := int(binary.LittleEndian.Uint32(stored[12:16]))
	payload := stored[16+hlen : len(stored)-4]
	if len(payload) != 2*len(got.Flat) {
		t.Fatalf("the stored payload is %d bytes for %d parameters, want two bytes each", len(payload), len(got.Flat))
	}
	want, err := model.ReadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Flat {
		byHand := math.Float32frombits(uint32(binary.LittleEndian.Uint16(payload[2*i:])) << 16)
		if got.Flat[i] != byHand {
			t.Fatalf("parameter %d reads as %v, the stored bfloat16 widened by hand is %v", i, got.Flat[i], byHand)
		}
		if rounded := compute.FromBF16(compute.ToBF16(want.Flat[i])); byHand != rounded {
			t.Fatalf("parameter %d is stored as %v, the source's %v rounded to bfloat16 is %v", i, byHand, want.Flat[i], rounded)
		}
	}
	if got.VocabHash != want.VocabHash || got.Config != want.Config || strings.Join(got.Names, ",") != strings.Join(want.Names, ",") {
		t.Errorf("the widened checkpoint's header differs from the source's")
	}
}

// An fp32 entry stored again in bfloat16 (Entry.Source, then Add, as 'zoo
// add --from ... --storage bf16') keeps the record of how it was made and
// is rounded from the entry's checkpoint; stored again in bfloat16 it is
// the same model.
func TestStoreEntryAgainInBF16(t *testing.T) {
	src, z := t.TempDir(), t.TempDir()
	ckpt, vocab := tinyLM(t, src)
	fp32, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false)
	if err != nil {
		t.Fatal(err)
	}
	if fp32.Storage != StorageFP32 || fp32.RoundedFrom != nil {
		t.Errorf("an fp32 entry's manifest: storage %q, rounded from %+v", fp32.Storage, fp32.RoundedFrom)
	}
	again := func(want Storage) *Entry {
		t.Helper()
		e, err := Open(z, "tiny-wiki-fwd")
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.Source(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.Storage = want
		e, err = Add(z, "tiny-wiki-fwd", s, true)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	bf16 := again(StorageBF16)
	if bf16.Made.Experiment != fp32.Made.Experiment || bf16.Made.Stage != fp32.Made.Stage || len(bf16.Made.Epochs) != 1 {
		t.Errorf("the record of how it was made changed: %+v, was %+v", bf16.Made, fp32.Made)
	}
	if bf16.RoundedFrom == nil || *bf16.RoundedFrom != fp32.Checkpoint {
		t.Errorf("rounded from %+v, want the fp32 entry's checkpoint %+v", bf16.RoundedFrom, fp32.Checkpoint)
	}
	if bf16.Files[CheckpointFile].Bytes >= fp32.Files[CheckpointFile].Bytes {
		t.Errorf("bf16 stores %d bytes, fp32 %d", bf16.Files[CheckpointFile].Bytes, fp32.Files[CheckpointFile].Bytes)
	}
	if twice := again(StorageBF16); twice.Checkpoint != bf16.Checkpoint {
		t.Errorf("rounding twice changed the model: checkpoint %+v, once %+v", twice.Checkpoint, bf16.Checkpoint)
	}
}

// A manifest naming a storage there is none of stops Open, naming the
// manifest and the storages there are; one naming bf16 for a float32 file
// stops decompression, saying so.
func TestStorageInManifest(t *testing.T) {
	src := t.TempDir()
	ckpt, vocab := tinyLM(t, src)
	edit := func(storage Storage) *Entry {
		t.Helper()
		z := t.TempDir()
		e, err := Add(z, "tiny-wiki-fwd", Source{Checkpoint: ckpt, Vocab: vocab, Direction: Forward, Made: made()}, false)
		if err != nil {
			t.Fatal(err)
		}
		e.Storage = storage
		if err := writeManifest(e.Path(ManifestFile), &e.Manifest); err != nil {
			t.Fatal(err)
		}
		return e
	}

	e := edit("fp16")
	_, err := Open(filepath.Dir(e.Dir), e.Name)
	checkError(t, err, e.Path(ManifestFile), `storage "fp16": want "fp32" (the default) or "bf16"`, StorageFP32)

	e = edit(StorageBF16)
	e, err = Open(filepath.Dir(e.Dir), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(); err != nil {
		t.Fatalf("Verify: %v; the files are intact", err)
	}
	checkError(t, e.VerifyCheckpoint(), e.Path(CheckpointFile), `does not decompress to a bfloat16 checkpoint`, StorageBF16)

	if _, err := ParseStorage("BF16"); err == nil {
		t.Errorf("ParseStorage accepts BF16; storages are lower-case, as manifests write them")
	}
	for _, s := range []string{"", "fp32", "bf16"} {
		if _, err := ParseStorage(s); err != nil {
			t.Errorf("ParseStorage(%q): %v", s, err)
		}
	}
}

// xzContents is the xz file at path decompressed.
func xzContents(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := xz.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
