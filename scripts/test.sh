#!/usr/bin/env bash
# Set everything up, then run the whole test suite, the linter and the type checker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
.venv/bin/ruff check .
.venv/bin/mypy
echo "lint and types: ok"
