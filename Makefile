# Two commands do everything on a fresh machine:
#   make study   set-up, the whole study (dvc repro) on the embedded data, then the book
#   make test    set-up, then the unit tests and the whole pipeline in the smoke profile in a
#                scratch copy (.smoke/, so your results stay put): run from scratch with runs side
#                by side, published and pulled into a fresh clone; one experiment of each paper
#                trained again one run at a time, another as local cluster jobs, and an evaluation
#                run again on them (the same bytes each time, measured times aside; every written
#                file declared); nbval on every notebook; the GPU probe on the CPU; the book in a
#                browser. Two parts at a time (test-units, test-pipeline, ... below)
# Other targets:
#   make publish                      push every output to the DVC remote (.dvc/config: a folder
#                                     beside this checkout unless you point it elsewhere); a
#                                     reader's `make pull` then gets results and book, no training
#   make pull                         fetch every output from that remote (one line saying what to
#                                     do where this machine cannot reach it)
#   make launch EXECUTOR=slurm JOBS=N train the profile's pending runs as cluster jobs (submitit;
#                                     EXECUTOR=local here), then `make study` records them
#   make study JOBS=N                 train N runs at a time (default: one per core)
#   make gpu-probe                    on a lent GPU: the chapter "What a FLOP buys" timed there
#                                     (data/gpu/cost.csv; see the target)
#   setup, profile P=smoke|cpu|paper, book, clean
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
APT_PACKAGES := mricron-data dataset-fashion-mnist opencv-doc libtcmalloc-minimal4
# The browser tests/test_book.py reads the book in
TEST_APT_PACKAGES := chromium
TCMALLOC := /usr/lib/$(shell uname -m)-linux-gnu/libtcmalloc_minimal.so.4
# Extra pip arguments, e.g. PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
# where torch==2.13.0 would otherwise resolve to a CUDA build.
PIP_ARGS ?=
# GPU=1: a CUDA build of torch 2.13.0 is wanted (the paper profile on a GPU; README, "GPUs").
GPU ?= 0

export PATH := $(BIN):$(PATH)
# Runs train side by side, one thread each (lib/hyperscale/core/pool.py): JOBS runs at a time
# (default: one per core; `make study JOBS=1` for one at a time), HYPERSCALE_THREADS threads each
# (default 1). Both are checked where they are read, with one line saying what is allowed.
export JOBS
export HYPERSCALE_THREADS
export DVC_NO_ANALYTICS := 1
export PYTHONUNBUFFERED := 1
# tcmalloc: 1.1-1.3x faster training steps at 64x64 here, 1.8x at 160x192; decided when a
# recipe runs, because `make setup` may have just installed it.
WITH_TCMALLOC = if [ -e $(TCMALLOC) ]; then export LD_PRELOAD=$(TCMALLOC); fi;

.PHONY: study test test-units test-pipeline test-published test-notebooks test-retrained test-browser setup system-packages test-packages profile book publish pull launch gpu-probe clean

study: setup
	$(WITH_TCMALLOC) python -m hyperscale.core.progress
	@echo "Book: $(abspath book/_build/html/index.html)"

# make test's parts run two at a time (make -j2), paired so that neither touches what the other
# reads: the smoke pipeline's stages mostly run in one process each, so two `dvc repro` run side
# by side on chapters that share no stage (each waits for the other's hold on DVC's lock), and
# the unit tests take what CPU is left; nbval reads the pipeline's outputs while they are
# published and pulled; the GPU probe and the browser read runs/eval/cost and the book while one
# experiment of each paper trains again one run at a time. Each part's output shows when it ends.
test: setup test-packages
	actionlint
	rm -rf .smoke && mkdir .smoke
	git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C .smoke
	python -m hyperscale.core.params smoke --out .smoke/params.yaml
	cd .smoke && dvc config --local core.no_scm true
	$(MAKE) --no-print-directory -j2 -Otarget test-units test-pipeline
	$(MAKE) --no-print-directory -j2 -Otarget test-published test-notebooks
	$(MAKE) --no-print-directory -j2 -Otarget test-retrained test-browser
	@echo "make test: all passed"

SMOKE = cd .smoke && $(WITH_TCMALLOC) HYPERSCALE_PIPELINE=1
test-units:
	$(WITH_TCMALLOC) pytest -p no:cacheprovider tests/
test-pipeline:  # two streams of chapters side by side, then what reads them all; then every written file declared
	cd .smoke && $(WITH_TCMALLOC) export JOBS=2 && a=0 && b=0 && \
	  { dvc --wait-for-lock repro --quiet report_sshn report_hyperconv > repro-a.log 2>&1 & one=$$!; } && \
	  { dvc --wait-for-lock repro --quiet report_shape_adaptor report_hyperseg > repro-b.log 2>&1 & two=$$!; } && \
	  { wait $$one || a=$$?; } && { wait $$two || b=$$?; } && \
	  if [ $$a != 0 ] || [ $$b != 0 ]; then tail -n 40 repro-a.log repro-b.log; exit 1; fi
	$(SMOKE) JOBS=2 dvc repro --quiet
	$(SMOKE) pytest -p no:cacheprovider tests/test_pipeline.py -k declared_output
test-published:  # and any test of test_pipeline.py the other two parts do not name
	$(SMOKE) pytest -p no:cacheprovider tests/test_pipeline.py -k "not declared_output and not trained_again"
test-notebooks:
	$(SMOKE) pytest --nbval-lax -p no:cacheprovider notebooks/
test-retrained:
	$(SMOKE) pytest -p no:cacheprovider tests/test_pipeline.py -k trained_again
test-browser:
	cd .smoke && $(MAKE) --no-print-directory gpu-probe PROBE_DEVICE=cpu PROBE_PYTHON=python PROBE_OUT=$$(mktemp -d)/cost.csv \
	  PROBE_ARGS="--repeats 1 --warmup 0"
	$(SMOKE) pytest -p no:cacheprovider tests/test_book.py

setup: system-packages $(VENV)/.installed

# $(call apt,PACKAGES): install missing Debian packages when we are root with apt, otherwise
# stop with a message naming them.
apt = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing   (then run make again)"; exit 1; \
	  fi; \
	fi

# What the embedded data and the allocator need.
system-packages:
	@$(call apt,$(APT_PACKAGES))

test-packages:
	@$(call apt,$(TEST_APT_PACKAGES))

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_ARGS) -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -c 'import sys, torch; sys.exit("a CUDA build of torch got installed; this study pins the CPU build (torch==2.13.0): install that, or run make with GPU=1 for a GPU (see README)" if torch.version.cuda and not $(GPU) else 0)'
	touch $@

# params.yaml as committed is the cpu profile; the others are overlays on it (profiles/).
profile: setup
	@case "$(P)" in \
	  cpu) git checkout -- params.yaml && echo "params.yaml holds the cpu profile again";; \
	  smoke|paper) python -m hyperscale.core.params $(P);; \
	  *) echo "usage: make profile P=smoke|cpu|paper"; exit 1;; \
	esac

book: setup
	jupyter-book build --quiet book
	@echo "Book: $(abspath book/_build/html/index.html)"

publish: setup
	python -m hyperscale.core.share push

pull: setup
	python -m hyperscale.core.share pull

EXECUTOR ?= local
launch: setup
	$(WITH_TCMALLOC) python -m hyperscale.launch --executor $(EXECUTOR)

# On a lent GPU machine (lib/hyperscale/cost/probe.py; at most 8 minutes): no set-up there, its
# python3 holds a CUDA torch. Carry runs/eval/cost (what evaluate_cost wrote) and .whl (wheels of
# pydantic and ptflops, README "GPUs"); commit data/gpu/cost.csv after. PROBE_DEVICE=cpu runs it
# anywhere (make test does, at smoke sizes).
PROBE_DEVICE ?= cuda
PROBE_PYTHON ?= python3
PROBE_OUT ?= data/gpu/cost.csv
PROBE_ARGS ?=
gpu-probe:
	PYTHONPATH=lib $(PROBE_PYTHON) -m hyperscale.cost.probe --device $(PROBE_DEVICE) --out $(PROBE_OUT) $(PROBE_ARGS)

clean:
	rm -rf .smoke book/_build book/generated runs data/atlas2d data/scenes
