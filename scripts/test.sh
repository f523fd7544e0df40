#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every check CI runs: ruff, mypy, the import
# contracts of the layers (lint-imports), pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest -q "$@"
