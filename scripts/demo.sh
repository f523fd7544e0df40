#!/usr/bin/env bash
# The main job on the bundled defaults: set up; validate the example designs; simulate the
# paper's D5005 core on one d=512 block (the paper's measurement); explore the U280 HBM
# design's space on the 370M model into a SQLite study (out/example_study.db); then serve
# the dashboard on http://127.0.0.1:8050 next to the measured H200 baseline (Ctrl-C stops).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/cosim validate examples/*.yaml
.venv/bin/cosim simulate examples/d5005_paper_core.yaml --model paper-block-d512 \
  --out out/d5005-paper-block --force
.venv/bin/cosim explore examples/u280_hbm.yaml --space examples/u280_hbm_space.yaml \
  --model 370m --trials "${TRIALS:-24}" --workers 2 \
  --storage sqlite:///out/example_study.db --study example
exec .venv/bin/cosim dashboard
