package datasets

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Kind says what a dataset is for.
type Kind int

const (
	// Classification is labelled documents (the paper's six tasks, MR, SST-2).
	Classification Kind = iota
	// Corpus is unlabelled text for general-domain language-model pretraining.
	Corpus
	// Pretrained is not text but a pretrained language model (fastai's
	// model zoo), for 'ulmfit import'; it cannot be loaded as a dataset.
	Pretrained
)

func (k Kind) String() string {
	switch k {
	case Corpus:
		return "corpus"
	case Pretrained:
		return "pretrained model"
	}
	return "classification"
}

// Info is one row of the registry: what a dataset is, its files, where it
// comes from and the split sizes its authors published.
type Info struct {
	Name    string // the name the CLI and experiment files use, e.g. "pretrain-en"
	Folder  string // its folder in a data directory, e.g. "pretrain_en"
	Title   string // what it is, with its citation
	Kind    Kind
	Classes []string // class names in label order (label i is Classes[i])

	Published Counts

	// Layouts are alternative sets of paths, relative to the folder, whose
	// presence means the dataset is there (IMDb: reviews.json, or the
	// aclImdb train/ and test/ folders).
	Layouts [][]string
	// Known are digests of release files (or folders: see FileInfo); a file
	// matching any entry for its path is verified.
	Known []FileSum
	// Recipes are the ways to fetch the dataset, in order of preference; a
	// recipe is complete when all its Remotes are.
	Recipes [][]Remote
	// Manual, for a dataset no recipe can fetch (wikipedia-en), says where a
	// copy comes from; fetch then only finds and verifies one.
	Manual string
	// Notes say what a loader does that the release does not define.
	Notes string

	load func(dir string) (*Dataset, error)
}

// Counts are split sizes in examples (documents, or articles for a corpus).
// Per-class slices are indexed like Info.Classes; nil when not published.
type Counts struct {
	Train, Valid, Test, Unlabelled int
	Total                          int // a release without official splits (MR): all examples
	TrainPerClass, TestPerClass    []int
	ValidPerClass, TotalPerClass   []int
}

// FileSum is a known digest of a release file: SHA256 or MD5, hex.
type FileSum struct {
	Path   string // relative to the dataset folder
	SHA256 string
	MD5    string
	Note   string // which copy this is, when a file has several
}

// Via is how a Remote is fetched.
type Via int

const (
	ViaHTTP   Via = iota + 1 // GET from URLs, resumable, verified
	ViaNPM                   // `npm pack Package` and verify the tarball's Integrity
	ViaGoRoot                // copy GoRootFile from the Go installation
)

// Remote is one download: a file or an archive and what to take from it.
type Remote struct {
	Via        Via
	URLs       []string // ViaHTTP: mirrors of the same bytes, tried in order
	Package    string   // ViaNPM: name@version
	Integrity  string   // ViaNPM: the tarball's Subresource Integrity, "sha512-<base64>"
	GoRootFile string   // ViaGoRoot: path below $(go env GOROOT)

	Size   int64  // bytes of the download, when published; 0 = unknown
	SHA256 string // digest of the download, hex, when published
	MD5    string

	Archive string    // "tar.gz", "zip", or "" for a single file
	Strip   string    // prefix removed from every member name, e.g. "aclImdb/"
	Extract []Extract // which members to keep and where they go
	SaveAs  string    // a single file: its path in the dataset folder

	// Provides are the paths this remote puts into the folder; when all
	// exist (and match Known digests) the remote is not fetched again.
	Provides []string
}

// Extract selects archive members (after Strip). Pattern ending in "/" takes
// the whole subtree, which lands under To plus the rest of the member's path;
// otherwise Pattern is a path.Match pattern and a match lands at To, or at
// To plus its base name when To ends in "/". Every pattern must match.
type Extract struct {
	Pattern, To string
}

// Describe says where r comes from in one line.
func (r Remote) Describe() string {
	switch r.Via {
	case ViaNPM:
		return "npm " + r.Package
	case ViaGoRoot:
		return "Go installation: $GOROOT/" + r.GoRootFile
	case ViaHTTP:
		if len(r.URLs) == 0 {
			return "http (no URL)"
		}
		var sum string
		switch {
		case r.SHA256 != "":
			sum = "sha256 " + r.SHA256[:12] + "…"
		case r.MD5 != "":
			sum = "md5 " + r.MD5
		default:
			sum = "files checked against known sha256"
		}
		return r.URLs[0] + " (" + sum + ")"
	}
	return "unknown source"
}

// Host is the host of the first URL, or the npm package, for short listings.
func (r Remote) Host() string {
	switch r.Via {
	case ViaNPM:
		return "npm:" + r.Package
	case ViaGoRoot:
		return "go:" + r.GoRootFile
	}
	if len(r.URLs) > 0 {
		if u, err := url.Parse(r.URLs[0]); err == nil {
			return u.Host
		}
	}
	return "?"
}

// All returns every registered dataset in registry order.
func All() []Info {
	out := make([]Info, len(registry))
	copy(out, registry)
	return out
}

// Names returns every registered dataset name in registry order.
func Names() []string {
	names := make([]string, len(registry))
	for i, d := range registry {
		names[i] = d.Name
	}
	return names
}

// UnknownDatasetError is a name the registry does not have.
type UnknownDatasetError struct {
	Name    string
	Suggest string // the registered name the user probably meant, or ""
}

func (e *UnknownDatasetError) Error() string {
	msg := fmt.Sprintf("unknown dataset %q (known: %s)", e.Name, strings.Join(Names(), ", "))
	if e.Suggest != "" {
		msg += fmt.Sprintf("; did you mean %q?", e.Suggest)
	}
	return msg
}

// Lookup returns the registry row of name. Only registered names match; a
// folder name or another spelling gives an error suggesting the name.
func Lookup(name string) (Info, error) {
	for _, d := range registry {
		if d.Name == name {
			return d, nil
		}
	}
	canon := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	}
	var suggest string
	for _, d := range registry {
		if canon(d.Name) == canon(name) || canon(d.Folder) == canon(name) {
			suggest = d.Name
		}
	}
	if canon(name) == "imdbunsup" {
		suggest = "imdb" // the shared folder imdb-unsup holds IMDb's unlabelled split, which imdb reads
	}
	return Info{}, &UnknownDatasetError{Name: name, Suggest: suggest}
}

// ComparePublished sets d's split sizes beside the published ones, p,
// saying where they differ: "train 5452, test 500 (this copy matches)".
func ComparePublished(p Counts, d *Dataset) string {
	type pair struct {
		name      string
		published int
		got       int
	}
	var pairs []pair
	if p.Total > 0 {
		pairs = append(pairs, pair{"all", p.Total, len(d.Train) + len(d.Valid) + len(d.Test)})
	}
	for _, s := range []pair{
		{"train", p.Train, len(d.Train)}, {"valid", p.Valid, len(d.Valid)},
		{"test", p.Test, len(d.Test)}, {"unlabelled", p.Unlabelled, len(d.Unlabelled)},
	} {
		if s.published > 0 {
			pairs = append(pairs, s)
		}
	}
	if len(pairs) == 0 {
		return "none (not a published dataset)"
	}
	var parts, diffs []string
	for _, s := range pairs {
		parts = append(parts, fmt.Sprintf("%s %d", s.name, s.published))
		switch {
		case slices.Contains(d.Absent, s.name):
			diffs = append(diffs, s.name+" absent here")
		case s.got != s.published:
			diffs = append(diffs, fmt.Sprintf("%s has %d here", s.name, s.got))
		}
	}
	verdict := "this copy matches"
	if len(diffs) > 0 {
		verdict = "this copy differs: " + strings.Join(diffs, ", ")
	}
	return strings.Join(parts, ", ") + " (" + verdict + ")"
}

// Texts are the examples' texts (each its fields), in order.
func Texts(examples []Example) [][]string {
	out := make([][]string, len(examples))
	for i, e := range examples {
		out[i] = e.Text
	}
	return out
}
