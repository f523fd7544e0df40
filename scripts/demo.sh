#!/usr/bin/env bash
# Sets up and runs the main job on the bundled defaults: validate the example designs,
# then simulate the paper's D5005 core on one d=512 block (the paper's measurement) and
# the U280 HBM design on the 370M model. Results land in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cosim validate examples/*.yaml
.venv/bin/cosim simulate examples/d5005_paper_core.yaml --model paper-block-d512 \
  --out out/d5005-paper-block --force
.venv/bin/cosim simulate examples/u280_hbm.yaml --model 370m --out out/u280-370m --force
