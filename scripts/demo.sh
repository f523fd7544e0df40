#!/usr/bin/env bash
# The main job on the bundled defaults: set up; validate the example designs; simulate the
# paper's D5005 core on one d=512 block (the paper's measurement); explore the U280 HBM
# design's space on the 370M model into a SQLite study (out/example_study.db); then serve
# the dashboard on http://127.0.0.1:8050 next to the measured H200 baseline (Ctrl-C stops).
# OUT_DIR (default out), TRIALS (default 24) and DEMO_NO_DASHBOARD=1 (stop before serving;
# the test of this script uses it) change that.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT_DIR:-out}"
bash scripts/setup.sh
# the architecture descriptions (the *_space.yaml files beside them are search spaces,
# checked by `cosim explore` against the design they belong to)
.venv/bin/cosim validate examples/d5005_paper_core.yaml examples/u280_hbm.yaml examples/h200.yaml
.venv/bin/cosim simulate examples/d5005_paper_core.yaml --model paper-block-d512 \
  --out "$out/d5005-paper-block" --force
.venv/bin/cosim explore examples/u280_hbm.yaml --space examples/u280_hbm_space.yaml \
  --model 370m --trials "${TRIALS:-24}" --workers 2 \
  --storage "sqlite:///$out/example_study.db" --study example
if [ "${DEMO_NO_DASHBOARD:-}" = 1 ]; then
  exit 0
fi
exec .venv/bin/cosim dashboard --storage "sqlite:///$out/example_study.db" --study example
