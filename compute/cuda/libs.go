package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ebitengine/purego"
)

// library names one shared library and where to look for it.
type library struct {
	what string // for error messages, e.g. "cuBLAS"
	base string // file name without suffix, e.g. "libcublas"
	// sonames are the names the system loader is asked for when no folder
	// holds the library, newest first.
	sonames []string
	// preload are libraries of the same folder that base needs and the
	// loader may not find on its own (cuBLAS needs cuBLASLt; NVRTC opens
	// its builtins at run time): they are opened first, globally, so the
	// loader finds them already loaded.
	preload []string
}

var (
	libCUDA   = library{what: "CUDA driver", base: "libcuda", sonames: []string{"libcuda.so.1", "libcuda.so"}}
	libCUBLAS = library{what: "cuBLAS", base: "libcublas",
		sonames: []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so"}, preload: []string{"libcublasLt"}}
	libNVRTC = library{what: "NVRTC", base: "libnvrtc",
		sonames: []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}, preload: []string{"libnvrtc-builtins"}}
)

// searchDirs are the folders searched for cuBLAS and NVRTC, in order: the
// caller's, LD_LIBRARY_PATH, CUDA_HOME and CUDA_PATH, the toolkit's usual
// homes, the distribution's library folders, and the lib folders of NVIDIA's
// Python wheels (nvidia/*/lib), where a PyTorch install keeps its own copies.
func searchDirs(extra []string) []string {
	var dirs []string
	add := func(ds ...string) {
		for _, d := range ds {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	add(extra...)
	add(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))...)
	for _, env := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if root := os.Getenv(env); root != "" {
			add(filepath.Join(root, "lib64"), filepath.Join(root, "lib"))
		}
	}
	add("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/targets/sbsa-linux/lib",
		"/usr/local/nvidia/lib64", "/usr/local/nvidia/lib",
		"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/wsl/lib")
	for _, pattern := range []string{
		"/usr/local/lib/python3*/dist-packages/nvidia/*/lib",
		"/usr/local/lib/python3*/site-packages/nvidia/*/lib",
		"/usr/lib/python3/dist-packages/nvidia/*/lib",
		"/opt/conda/lib/python3*/site-packages/nvidia/*/lib",
	} {
		m, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(sort.StringSlice(m))) // cu13 before cu12
		add(m...)
	}
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if c := filepath.Clean(d); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// candidates lists the files in dir that are versions of base ("libX.so",
// "libX.so.13", "libX.so.13.0.1"), highest version first; the unversioned
// name, usually a link to one of them, last.
func candidates(dir, base string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, base+".so*"))
	type cand struct {
		path string
		ver  []int
	}
	var cs []cand
	for _, p := range m {
		suffix := strings.TrimPrefix(filepath.Base(p), base+".so")
		if suffix != "" && suffix[0] != '.' {
			continue
		}
		var ver []int
		ok := true
		for _, f := range strings.Split(strings.TrimPrefix(suffix, "."), ".") {
			if f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil {
				ok = false
				break
			}
			ver = append(ver, n)
		}
		if ok {
			cs = append(cs, cand{p, ver})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].ver, cs[j].ver
		if len(a) == 0 || len(b) == 0 {
			return len(a) > len(b)
		}
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.path
	}
	return out
}

// open loads lib. The driver is asked of the system loader first (it belongs
// to the installed kernel module); the libraries are looked for in dirs first
// and asked of the loader last. The error names the library, every place
// tried and the loader's last complaint.
func (lib library) open(dirs []string) (handle uintptr, path string, err error) {
	const mode = purego.RTLD_NOW | purego.RTLD_GLOBAL
	var lastErr error
	tryName := func(name string) bool {
		h, e := purego.Dlopen(name, mode)
		if e != nil {
			lastErr = e
			return false
		}
		handle, path = h, name
		return true
	}
	tryDirs := func() bool {
		for _, d := range dirs {
			for _, c := range candidates(d, lib.base) {
				for _, dep := range lib.preload {
					if deps := candidates(d, dep); len(deps) > 0 {
						purego.Dlopen(deps[0], mode) // best effort: the real open below reports what is missing
					}
				}
				if tryName(c) {
					return true
				}
			}
		}
		return false
	}
	trySonames := func() bool {
		for _, s := range lib.sonames {
			if tryName(s) {
				return true
			}
		}
		return false
	}
	found := false
	if lib.base == libCUDA.base {
		found = trySonames() || tryDirs()
	} else {
		found = tryDirs() || trySonames()
	}
	if found {
		return handle, path, nil
	}
	reason := "no such file in any of them"
	if lastErr != nil {
		reason = lastErr.Error()
	}
	return 0, "", fmt.Errorf("cuda: cannot load the %s library (%s): tried %s and the folders %s; last error: %s. "+
		"Install it, or name its folder in LD_LIBRARY_PATH or Options.LibDirs",
		lib.what, lib.base+".so*", strings.Join(lib.sonames, ", "), strings.Join(dirs, ":"), reason)
}

// symbols resolves each name in handle into the pointer beside it.
func symbols(lib library, path string, handle uintptr, syms map[string]*uintptr) error {
	var missing []string
	for name, dst := range syms {
		p, err := purego.Dlsym(handle, name)
		if err != nil || p == 0 {
			missing = append(missing, name)
			continue
		}
		*dst = p
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("cuda: the %s library %s lacks %s: it is older than this package supports",
			lib.what, path, strings.Join(missing, ", "))
	}
	return nil
}

// libs are the three libraries, loaded once per process.
type libs struct {
	drv    driverAPI
	blas   blasAPI
	rtc    rtcAPI
	paths  [3]string // driver, cuBLAS, NVRTC
	driver int       // cuDriverGetVersion, e.g. 13000
}

var (
	loadOnce   sync.Once
	loaded     *libs
	loadErr    error
	loadedDirs []string
)

// load opens the driver, cuBLAS and NVRTC and initialises the driver. The
// first call's extraDirs decide where the libraries come from.
func load(extraDirs []string) (*libs, error) {
	loadOnce.Do(func() {
		loadedDirs = searchDirs(extraDirs)
		l := &libs{}
		h, p, err := libCUDA.open(loadedDirs)
		if err != nil {
			loadErr = err
			return
		}
		l.paths[0] = p
		if err := symbols(libCUDA, p, h, l.drv.table()); err != nil {
			loadErr = err
			return
		}
		if p, err := purego.Dlsym(h, "cuLaunchKernelEx"); err == nil {
			l.drv.cuLaunchKernelEx = p
		}
		if err := l.drv.init(); err != nil {
			loadErr = err
			return
		}
		l.driver = l.drv.version()
		h, p, err = libCUBLAS.open(loadedDirs)
		if err != nil {
			loadErr = err
			return
		}
		l.paths[1] = p
		if err := symbols(libCUBLAS, p, h, l.blas.table()); err != nil {
			loadErr = err
			return
		}
		h, p, err = libNVRTC.open(loadedDirs)
		if err != nil {
			loadErr = err
			return
		}
		l.paths[2] = p
		if err := symbols(libNVRTC, p, h, l.rtc.table()); err != nil {
			loadErr = err
			return
		}
		loaded = l
	})
	return loaded, loadErr
}
