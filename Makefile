# Two commands do everything on a fresh machine: `make app` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# Without sign-in the app is for this machine only (README, "For a team" to share it).
ADDRESS ?= 127.0.0.1

.PHONY: install app test test-fast bench lint clean

# Python keeps compiled modules in .venv and the checkout (both ignored by git). Some machines set
# PYTHONDONTWRITEBYTECODE: then each of the suite's hundreds of child processes (the CLI, the app,
# Ray workers) compiles torch, transformers and Ray from source again, doubling the suite's time.
unexport PYTHONDONTWRITEBYTECODE

install: $(STAMP)

# Re-installs only when the dependency list changes; torch comes pinned from constraints.txt.
# The ray extra too: its tests run a real local Ray cluster. pip compiles installed files one by
# one (minutes for torch, ray, pyarrow); compileall does it on every core (about a minute on 2),
# so no process of the app or the tests compiles them again. A few files written for newer
# Pythons (torch's own tests) do not compile, and are never imported: compileall's status is
# ignored for them.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -c constraints.txt \
		-e '.[dev,ray]'
	@$(PY) -m compileall -qq -j 0 $(VENV)/lib || true
	@touch $(STAMP)

app: install
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) \
		--server.headless true \
		--browser.gatherUsageStats false

# Two test processes, each test file in one of them (a file's servers and clusters are shared
# by its tests), the longest files first (tests/conftest.py): most tests wait on servers,
# browsers and child processes, so on 2 cores this takes about 60% of the time of one process.
# TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= 2

test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: install
	$(PY) -m pytest -m "not slow and not browser"

# The figures of benchmarks/README.md, one script after another (about an hour on 2 cores).
bench: install
	$(PY) benchmarks/accuracy.py
	$(PY) benchmarks/teach_in.py
	$(PY) benchmarks/speed.py --rows 20000 --memory-rows 100000
	$(PY) benchmarks/rerun.py --rows 10000
	$(PY) benchmarks/llm_failure.py
	$(PY) benchmarks/ray_speed.py --rows 20000

lint: install
	$(VENV)/bin/ruff check classifier tests benchmarks app.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
