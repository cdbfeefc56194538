package datasets

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// MRSplitSeed seeds MR's train/test split. MR has no official split (10-fold
// cross-validation is customary); the loader holds out a stratified 10% as
// test with SplitValidation's rule, so every run sees the same partition.
const MRSplitSeed = 20050601

// loadMR reads Pang & Lee's sentence polarity data: rt-polarity.neg and
// rt-polarity.pos, one sentence a line, ISO-8859-1, lower-cased and
// tokenised by its authors.
func loadMR(dir string) (*Dataset, error) {
	d := &Dataset{Name: "mr", Classes: slices.Clone(polarityClasses), Source: Source{Dir: dir}}
	var all []Example
	for label, file := range []string{"rt-polarity.neg", "rt-polarity.pos"} {
		path := filepath.Join(dir, file)
		lines, info, note, err := legacyLines(path)
		if err != nil {
			return nil, err
		}
		lines = trimTrailingBlank(lines)
		for i, line := range lines {
			line = strings.TrimSpace(line)
			if line == "" {
				return nil, formatErrorf(path, i+1, "blank line; want one sentence a line")
			}
			all = append(all, Example{Text: []string{line}, Label: label})
		}
		d.Source.Files = append(d.Source.Files, info)
		d.Source.Notes = append(d.Source.Notes, file+": "+note)
	}
	var err error
	d.Train, d.Test, err = SplitValidation(all, 0.1, MRSplitSeed)
	if err != nil {
		return nil, err
	}
	d.Source.Notes = append(d.Source.Notes, fmt.Sprintf(
		"no official split: stratified 90/10 train/test split of all %s sentences, seed %d", describeCount(len(all)), MRSplitSeed))
	return d, nil
}
