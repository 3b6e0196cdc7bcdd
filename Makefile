# Two commands do all the set-up on a fresh machine (Python 3.10+ with venv):
#   make demo   creates .venv, installs edgematte, exports the embedded default network for the HiLens Kit
#               (Caffe in the Kit's subset + aipp.cfg + convert.sh + skill, checked by three readers),
#               makes the sample clip, and runs the bundle's skill on it with the CPU stand-in
#   make test   creates .venv (if needed) and runs the test suite
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0

.PHONY: demo test test-all clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/edgematte export --to om --out out/demo-om --force
	$(VENV)/bin/edgematte sample-clip out/sample.mp4 --force
	$(VENV)/bin/edgematte run out/demo-om --input out/sample.mp4 --output out/sample_matted.mp4 --mode side-by-side --force

test: $(VENV)/.installed
	$(PY) -m pytest -q

test-all: $(VENV)/.installed
	$(PY) -m pytest -q -m ''

clean:
	rm -rf $(VENV) out .pytest_cache
