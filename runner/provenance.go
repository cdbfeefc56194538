package runner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Provenance is what produced a result: code, toolchain, machine, engine.
type Provenance struct {
	GitCommit string
	GitDirty  bool
	GoVersion string
	Machine   string // host, CPU model, cores
	Engine    string // the compute backend, e.g. "cpu/openblas/avx2"
	// FromWorkTree: the binary carried no commit, so GitCommit is the
	// checkout's HEAD when the process started, not necessarily the code
	// that was built.
	FromWorkTree bool
	// CommitFrom says where GitCommit came from: CommitFromStamp,
	// CommitFromBuildInfo or CommitFromWorkTree; empty when unknown.
	CommitFrom string
}

// Where a Provenance's commit came from, most trusted first.
const (
	CommitFromStamp     = "the build stamp (make build)"
	CommitFromBuildInfo = "Go's build information (go build in a checkout)"
	CommitFromWorkTree  = "the working directory's checkout at run time: the binary carries no commit"
)

// buildStamp is the commit the binary was built from, "COMMIT" or
// "COMMIT+dirty", set by the Makefile with -ldflags -X.
var buildStamp string

// DetectProvenance describes this process: the commit the Makefile stamped
// into the binary, else Go's build information (go build stamps it unless
// -buildvcs=false), else git in the working directory at run time, which
// may differ from the code that was built (Provenance.FromWorkTree); the
// machine from the host name and /proc/cpuinfo.
func DetectProvenance(be compute.Backend) Provenance {
	p := HostProvenance(be)
	p.GoVersion = runtime.Version()
	if c, dirty, ok := strings.Cut(buildStamp, "+"); buildStamp != "" {
		p.GitCommit, p.GitDirty = c, ok && dirty == "dirty"
		p.CommitFrom = CommitFromStamp
		return p
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.GitCommit = s.Value
			case "vcs.modified":
				p.GitDirty = s.Value == "true"
			}
		}
	}
	if p.GitCommit != "" {
		p.CommitFrom = CommitFromBuildInfo
		return p
	}
	p.GitCommit, p.GitDirty = gitState()
	p.FromWorkTree = p.GitCommit != ""
	if p.FromWorkTree {
		p.CommitFrom = CommitFromWorkTree
	}
	return p
}

// HostProvenance is the machine and engine of DetectProvenance, without
// asking git: what a time estimate needs.
func HostProvenance(be compute.Backend) Provenance {
	p := Provenance{Machine: machine()}
	if be != nil {
		p.Engine = be.Name()
		// A GPU backend names its card: the machine is the host and it.
		if d, ok := be.(interface{ Device() string }); ok && d.Device() != "" {
			p.Machine += "; GPU " + d.Device()
		}
	}
	return p
}

// gitState asks git about the working directory; empty when it is not a
// checkout or git is missing.
func gitState() (commit string, dirty bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	commit = strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output()
	return commit, err == nil && len(strings.TrimSpace(string(st))) > 0
}

func machine() string {
	host, _ := os.Hostname()
	cpu := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	return fmt.Sprintf("%s; %s; %d cores (GOMAXPROCS %d); %s/%s", host, cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
}
