#!/usr/bin/env bash
# Set everything up, then run the whole test suite, the linter and the type checker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The whole suite on the default HTTP/1.1 transport (our own, "http11")...
.venv/bin/python -m pytest "$@"
# ...and again on the alternative one (transport="aiohttp"), as the transport issue requires.
FASTHTTP_TRANSPORT=aiohttp .venv/bin/python -m pytest --ignore=tests/transport "$@"
.venv/bin/ruff check .
.venv/bin/mypy
echo "lint and types: ok"
