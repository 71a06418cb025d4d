PYTHON ?= .venv/bin/python
BENCH_ARGS ?=

.PHONY: bench

# Side-by-side benchmark of fasthttp, aiohttp and httpx; writes bench/RESULTS.md (see bench/README.md).
# Smoke test: make bench BENCH_ARGS=--quick
bench:
	$(PYTHON) -m bench.run $(BENCH_ARGS)
