# The project's commands. Each creates .venv on first use and installs what it needs.
# Without make (Windows, conda): README.md, "Without make", gives each as a plain command.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: test lab learn bench trace student handouts solutions doctor lint load mutate clean

test: $(VENV)/.test
	$(PY) -m pytest

# JupyterLab on a working copy under build/, never on the tracked notebooks/: it autosaves,
# and a notebook saved with outputs in notebooks/ would fail make test. A notebook edited
# there is kept when the copy is refreshed (notebooks/editions.py, working_copy).
# Jupyter refuses to run as root unless told; containers often are root.
JUPYTER_LAB = $(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# The full edition (solutions in), in build/lab/.
lab: $(VENV)/.lab
	$(PY) -m notebooks.editions lab build/lab
	$(JUPYTER_LAB) build/lab

# The learner edition (exercises as stubs), built into build/student/ and opened there.
learn: $(VENV)/.lab
	$(PY) -m notebooks.editions student build/student
	$(JUPYTER_LAB) build/student

# Throughput against aiohttp and the bare-protocol ceiling (docs/performance.md).
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; } \
		|| { echo "install wrk (Debian: apt-get install wrk) and run make bench again"; exit 1; }
	$(PY) bench/run.py
	$(PY) bench/ws_echo.py

$(VENV)/.bench: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $@

# Workshops: the learner edition (a notebook edited there is kept), executed HTML
# handouts of both editions, a readiness check.
student: $(VENV)/.test
	$(PY) -m notebooks.editions student build/student

handouts: $(VENV)/.test
	$(PY) -m notebooks.editions handouts build/handouts

# The full edition executed in order into build/solutions/: it leaves the framework the
# course builds, the reference answer, as build/solutions/diy/.
solutions: $(VENV)/.test
	$(PY) -m notebooks.editions solutions build/solutions

# What an attendee runs before the day: the lab set-up, then every check (notebooks/doctor.py).
doctor: $(VENV)/.lab
	$(PY) -m notebooks.doctor

# A scripted tour of every inspector view, in a few seconds.
trace: $(VENV)/.test
	$(PY) -m inspector demo

# Reliability under load (docs/reliability.md): 100k pipelined requests, memory before/after.
load: $(VENV)/.test
	$(PY) bench/load.py

# Mutation testing of the core modules with the fast tests (docs/testing.md); takes minutes.
# MODULES=sketch/routing.py narrows it; the report goes to build/mutation.txt.
mutate: $(VENV)/.test
	$(PY) tests/mutate.py $(MODULES)

lint: $(VENV)/.test
	$(VENV)/bin/ruff check sketch inspector notebooks tests examples bench
	$(VENV)/bin/ruff format --check sketch inspector notebooks tests examples bench

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "sketch needs Python 3.11 or newer, this is " + sys.version'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(VENV)/.lab: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,lab]'
	touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis *.egg-info
