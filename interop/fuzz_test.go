package interop

import (
	"os"
	"path/filepath"
	"testing"
)

// The readers take files from elsewhere: whatever the bytes, they return a
// value or an error, never panic. The seeds are the fixtures; go test runs
// them, go test -fuzz explores around them.

func addFixtureSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzReadTorch(f *testing.F) {
	addFixtureSeeds(f, "strided.pth", "strided_legacy.pth")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadTorch(data)
	})
}

func FuzzReadPickle(f *testing.F) {
	addFixtureSeeds(f, "itos.pkl")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadItos(data)
	})
}

func FuzzReadSafetensors(f *testing.F) {
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}    \x00\x00\x80\x3f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ReadSafetensors(data)
	})
}
