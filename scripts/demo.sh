#!/usr/bin/env bash
# Set everything up, then run the demo: a FastHTTP app against the embedded local server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python examples/demo.py
