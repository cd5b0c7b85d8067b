# Two commands for a fresh machine: `make run` (serve the chat) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ENCODERS := $(VENV)/.encoders
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: setup run index test bench eval audit clean

setup: $(STAMP) $(ENCODERS)

# Every file pinned by its sha256 (tools/lock.py writes the hashes). torch's hash is the local CPU
# wheel's, which pip.conf's find-links offers: no other torch file (a CUDA build) can be installed.
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	touch $(STAMP)

# The model exported to ONNX once (index/onnx_int8.py), so that nothing is exported while the app
# answers: the torch encoder's model runs on its float32 graph. A failure is said, not fatal.
$(ENCODERS): $(STAMP) index/onnx_int8.py
	$(PY) -m index.onnx_int8
	touch $(ENCODERS)

index: setup
	$(PY) -m qa index

# app.py serves the page at once, then syncs the index with seeds/ (the library) and loads the
# model behind it: one process, one model load.
run: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/run.py

# Known vulnerabilities in requirements.lock (pip-audit; the accepted ones, each with its reason, in
# audit-exceptions.txt). Exits 2 when no advisory source answers; CI passes AUDIT_FLAGS="--unreachable
# skip", which says so in one line and goes on (README, "Supply chain").
AUDIT_FLAGS ?=
audit: setup
	$(PY) tools/audit.py $(AUDIT_FLAGS)

# The gold sets scored together in one library of every report they ask about, with the naive
# baseline, every miss explained, and the calibrated "not found" cut (README, "Measured figures").
GOLD_SETS := seed essex-ofsted-2019 PostOfficeHorizon-IT-Inquiry-Recomm thurrock-ofsted-2016 hertfordshire-send-2023 gao-06-282
eval: setup
	$(PY) bench/gold.py var/gold-library
	$(PY) -m qa --library var/gold-library --index var/gold-index index
	$(PY) -m qa --library var/gold-library --index var/gold-index eval $(GOLD_SETS:%=tests/gold/%.jsonl) --compare --misses --calibrate

clean:
	rm -rf .index var tests/artifacts
