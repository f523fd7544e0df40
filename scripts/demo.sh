#!/usr/bin/env bash
# Sets up and runs the main job on the bundled defaults: validate and summarise the
# example designs, and show the device catalog they draw on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cosim validate examples/*.yaml
.venv/bin/cosim devices
