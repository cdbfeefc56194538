package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// VerifyFile accepts every checkpoint format of the package as saved and
// rejects each truncated, bit-flipped or foreign file, naming it.
func TestVerifyFile(t *testing.T) {
	dir := t.TempDir()
	m, opt := trainedTiny(t)
	c, _ := trainedSynth(t, 3)
	saved := map[string]func(string) error{
		"lm.ckpt":         func(p string) error { return SaveCheckpoint(p, m, "v", nil) },
		"lm-resume.ckpt":  func(p string) error { return SaveCheckpoint(p, m, "v", opt) },
		"classifier.ckpt": func(p string) error { return SaveClassifier(p, c, "v") },
	}
	for name, save := range saved {
		path := filepath.Join(dir, name)
		if err := save(path); err != nil {
			t.Fatal(err)
		}
		if err := VerifyFile(path); err != nil {
			t.Errorf("%s as saved: %v", name, err)
		}
		data, _ := os.ReadFile(path)
		damaged := map[string][]byte{
			"truncated":             data[:len(data)-9],
			"cut after the header":  data[:40],
			"flipped payload bit":   flip(data, len(data)-20),
			"flipped checksum bit":  flip(data, len(data)-1),
			"one byte more":         append(append([]byte(nil), data...), 0),
			"not a checkpoint file": []byte("ULMFIT? no, just some text that is long enough"),
		}
		for what, content := range damaged {
			bad := filepath.Join(dir, "bad-"+name)
			os.WriteFile(bad, content, 0o644)
			err := VerifyFile(bad)
			if err == nil || !strings.Contains(err.Error(), bad) {
				t.Errorf("%s, %s: %v, want an error naming the file", name, what, err)
			}
		}
	}
}

func flip(data []byte, at int) []byte {
	out := append([]byte(nil), data...)
	out[at] ^= 0x20
	return out
}
