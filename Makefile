# cxrviewer developer commands. Every target is safe to run twice.
#   make run    set up (first time) and open the viewer on the bundled demo images
#   make test   set up (first time) and run the whole test suite offscreen
#   make test-quick   the same without the tests marked slow: the edit-test loop (README)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-quick setup system-deps lint clean dist dist-cpu cpu-build-venv

run: setup
	$(VENV)/bin/cxrviewer --demo

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest
	$(VENV)/bin/lint-imports

# Leaves out the tests marked slow (the rules: tests/slow_tests.py); the same fixtures and
# data otherwise. One torch thread: these tests run small models, where a second thread
# mostly spin-waits, and with one other job on this 2-core machine two threads made the
# quick run 2.6x slower (272 s against 104 s).
test-quick: setup
	OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"
	$(VENV)/bin/lint-imports

lint: setup
	$(VENV)/bin/lint-imports

setup: $(STAMP)

system-deps:
	bash .ci/system-deps.sh

# Re-install only when the dependency list or the pins change.
$(STAMP): pyproject.toml constraints.txt .ci/system-deps.sh
	bash .ci/system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,train]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist .pytest_cache

# ---- Packaging (README "Packaging"): a one-folder PyInstaller bundle, smoke-tested.
#   make dist                           bundle from the dev venv's torch (CUDA build: several GB)
#   make dist-cpu TORCH_CPU=<wheel>     CPU-only bundle (about 1 GB) from a separate build venv
# DIST_ARGS passes options to packaging/build_dist.py, e.g. DIST_ARGS="--smoke-model DIR --no-tarball".
# Results: dist/cxrviewer/ (the bundle), dist/bundle-<cpu|cuda>.json (size, start-up, smoke test),
# dist/cxrviewer-<version>-linux-<arch>-<variant>.tar.gz.
CPU_VENV  ?= $(abspath ..)/buildvenv
TORCH_CPU ?= $(firstword $(wildcard /opt/wheels/torch-*+cpu-cp311-*.whl))
DIST_ARGS ?=

dist: setup
	$(PY) -m PyInstaller --version >/dev/null 2>&1 || $(PY) -m pip install --quiet -c constraints.txt pyinstaller
	nice -n 10 $(PY) packaging/build_dist.py $(DIST_ARGS)

cpu-build-venv:
	bash packaging/cpu-venv.sh $(CPU_VENV) "$(TORCH_CPU)"

dist-cpu: cpu-build-venv
	nice -n 10 $(CPU_VENV)/bin/python packaging/build_dist.py $(DIST_ARGS)
