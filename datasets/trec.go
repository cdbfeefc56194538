package datasets

import (
	"path/filepath"
	"slices"
	"strings"
)

// loadTREC reads Li & Roth's question classification files: one question a
// line, "COARSE:fine question text", ISO-8859-1. The label is the coarse
// class (TREC-6); the fine label (one of 50) must be present but is not kept.
func loadTREC(dir string) (*Dataset, error) {
	d := &Dataset{Name: "trec6", Classes: slices.Clone(trecClasses), Source: Source{Dir: dir}}
	var err error
	if d.Train, err = readTREC(filepath.Join(dir, "train_5500.label"), &d.Source); err != nil {
		return nil, err
	}
	if d.Test, err = readTREC(filepath.Join(dir, "TREC_10.label"), &d.Source); err != nil {
		return nil, err
	}
	return d, nil
}

func readTREC(path string, src *Source) ([]Example, error) {
	lines, info, note, err := legacyLines(path)
	if err != nil {
		return nil, err
	}
	lines = trimTrailingBlank(lines)
	index := classIndex(trecClasses)
	out := make([]Example, 0, len(lines))
	for i, line := range lines {
		label, question, ok := strings.Cut(line, " ")
		question = strings.TrimSpace(question)
		coarse, fine, hasColon := strings.Cut(label, ":")
		if !ok || !hasColon || fine == "" || question == "" {
			return nil, formatErrorf(path, i+1, "want `COARSE:fine question text`, got %q", clip(line))
		}
		c, known := index[coarse]
		if !known {
			return nil, formatErrorf(path, i+1, "unknown coarse class %q; want one of %s", coarse, strings.Join(trecClasses, " "))
		}
		out = append(out, Example{Text: []string{question}, Label: c})
	}
	src.Files = append(src.Files, info)
	src.Notes = append(src.Notes, filepath.Base(path)+": "+note)
	return out, nil
}

// trimTrailingBlank drops blank lines at the end of a file; blank lines
// elsewhere are the format's business.
func trimTrailingBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// clip shortens a line quoted in an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
