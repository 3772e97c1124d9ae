# cxrviewer developer commands. Every target is safe to run twice.
#   make run    set up (first time) and open the viewer on the bundled demo images
#   make test   set up (first time) and run the whole test suite offscreen

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test setup system-deps lint clean

run: setup
	$(VENV)/bin/cxrviewer --demo

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest
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
