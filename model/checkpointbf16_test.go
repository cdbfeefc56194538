package model

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// nearestBF16 is the bfloat16 nearest x, ties to the even one, found by
// comparing x's two bfloat16 neighbours in float64: a reference apart from
// compute.ToBF16's bit arithmetic. x is finite and below bfloat16's largest.
func nearestBF16(x float32) float32 {
	bits := math.Float32bits(x)
	toward := math.Float32frombits(bits &^ 0xffff)       // the neighbour toward zero
	away := math.Float32frombits(bits&^0xffff + 0x10000) // and away from it
	dToward, dAway := math.Abs(float64(x)-float64(toward)), math.Abs(float64(away)-float64(x))
	switch {
	case dToward < dAway:
		return toward
	case dAway < dToward:
		return away
	case bits>>16&1 == 0:
		return toward
	default:
		return away
	}
}

// tiesAndNeighbours are float32s a careless rounding gets wrong: ties, which
// go to the even neighbour, and their neighbours, which do not tie.
var tiesAndNeighbours = []uint32{
	0x3f808000, // 1 + 2^-8: a tie, to the even 1
	0x3f818000, // 1 + 3*2^-8: a tie, to the even 1 + 2^-6
	0x3f808001, // just above a tie: up
	0x3f80ffff, // just below the next bfloat16: up (truncation gives 1)
	0xbf80ffff, // the same, negative
	0xbc238000, // a tie in a small weight, up to even
	0x3f7fffff, // just below 1: up across an exponent step, to 1
	0x007fffff, // the largest subnormal rounds up to the least normal
	0x00000001, // the least subnormal rounds to 0
}

// A model stored in bfloat16 and widened again holds every parameter
// rounded to the nearest bfloat16, ties to even, and its widened checkpoint
// is the one SaveCheckpoint writes for those parameters, byte for byte.
// Truncating the low 16 bits would keep about half of them one bfloat16 too
// small in magnitude, and fail.
func TestCheckpointBF16RoundTrip(t *testing.T) {
	be := compute.Default()
	m, err := NewLM(be, tinyConfig(), 7)
	if err != nil {
		t.Fatal(err)
	}
	params := download(be, m.Params.Flat())
	for i, b := range tiesAndNeighbours {
		params[i] = math.Float32frombits(b)
	}
	be.Upload(m.Params.Flat(), params)

	dir := t.TempDir()
	src := filepath.Join(dir, "lm.ckpt")
	if err := SaveCheckpoint(src, m, "vocab-abc", nil); err != nil {
		t.Fatal(err)
	}
	var narrow bytes.Buffer
	if err := NarrowCheckpoint(&narrow, src); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(src)
	if got, want := int64(narrow.Len()), st.Size()-2*int64(len(params)); got != want {
		t.Errorf("the bfloat16 checkpoint is %d bytes, want %d: two bytes a parameter instead of four", got, want)
	}
	var wide bytes.Buffer
	if err := WidenCheckpoint(&wide, bytes.NewReader(narrow.Bytes()), "lm.bf16"); err != nil {
		t.Fatal(err)
	}
	widened := filepath.Join(dir, "widened.ckpt")
	if err := os.WriteFile(widened, wide.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCheckpoint(widened)
	if err != nil {
		t.Fatal(err)
	}
	truncated, worst := 0, 0.0
	for i, x := range params {
		want := nearestBF16(x)
		if back.Flat[i] != want {
			t.Errorf("parameter %d: %#08x widened to %#08x, the nearest bfloat16 (ties to even) is %#08x",
				i, math.Float32bits(x), math.Float32bits(back.Flat[i]), math.Float32bits(want))
		}
		if math.Float32frombits(math.Float32bits(x)&^0xffff) != want {
			truncated++
		}
		if math.Abs(float64(x)) >= 0x1p-126 { // normal: a subnormal keeps fewer significant bits
			worst = max(worst, math.Abs(float64(want-x)/float64(x)))
		}
	}
	if truncated < len(params)/4 {
		t.Errorf("only %d of %d parameters round differently from truncation: the test cannot tell the two apart", truncated, len(params))
	}
	const bf16RelativeError = 1.0 / 256 // half a unit in the 8th significant bit: 2^-8
	if worst > bf16RelativeError {
		t.Errorf("worst relative change %.3g, more than bfloat16's %.3g", worst, bf16RelativeError)
	}

	rounded := make([]float32, len(params))
	for i, x := range params {
		rounded[i] = nearestBF16(x)
	}
	be.Upload(m.Params.Flat(), rounded)
	direct := filepath.Join(dir, "rounded.ckpt")
	if err := SaveCheckpoint(direct, m, "vocab-abc", nil); err != nil {
		t.Fatal(err)
	}
	if want, err := os.ReadFile(direct); err != nil || !bytes.Equal(wide.Bytes(), want) {
		t.Errorf("the widened checkpoint (%d bytes) is not SaveCheckpoint's of the rounded parameters (%d bytes, %v)", wide.Len(), len(want), err)
	}
}

// A bfloat16 checkpoint that is damaged, or is not one, does not widen; a
// parameter with no finite bfloat16 does not narrow.
func TestCheckpointBF16Refuses(t *testing.T) {
	be := compute.Default()
	m, err := NewLM(be, tinyConfig(), 7)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "lm.ckpt")
	if err := SaveCheckpoint(src, m, "vocab-abc", nil); err != nil {
		t.Fatal(err)
	}
	var narrow bytes.Buffer
	if err := NarrowCheckpoint(&narrow, src); err != nil {
		t.Fatal(err)
	}
	good := narrow.Bytes()
	fp32, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-100] ^= 0x04
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"a payload bit flipped", flipped, "payload checksum"},
		{"truncated", good[:len(good)-50], "(truncated)"},
		{"bytes after it", append(bytes.Clone(good), 0), "bytes after the checksum"},
		{"a float32 checkpoint", fp32, `want the magic "ULMFITBF"`},
	} {
		err := WidenCheckpoint(&bytes.Buffer{}, bytes.NewReader(c.data), "lm.bf16")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "lm.bf16") {
			t.Errorf("%s: WidenCheckpoint: %v, want an error naming lm.bf16 with %q", c.name, err, c.want)
		}
	}

	for _, c := range []struct {
		name string
		x    float32
	}{
		{"NaN", float32(math.NaN())},
		{"beyond bfloat16", math.MaxFloat32},
	} {
		params := download(be, m.Params.Flat())
		params[len(params)-1] = c.x
		be.Upload(m.Params.Flat(), params)
		path := filepath.Join(dir, "bad.ckpt")
		if err := SaveCheckpoint(path, m, "vocab-abc", nil); err != nil {
			t.Fatal(err)
		}
		names := m.Params.Names()
		last := names[len(names)-1]
		err := NarrowCheckpoint(&bytes.Buffer{}, path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), last+"[") {
			t.Errorf("%s: NarrowCheckpoint: %v, want an error naming %s and the tensor %s", c.name, err, path, last)
		}
	}
}
