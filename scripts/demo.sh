#!/usr/bin/env bash
# The main job on the bundled defaults: set up; validate the example designs and search
# spaces; simulate the paper's D5005 core on one d=512 block (the paper's measurement);
# explore the U280 HBM design's space on the 370M model into a SQLite study
# (out/example_study.db); then serve the dashboard on http://127.0.0.1:8050 next to the
# measured GPU baselines (Ctrl-C stops).
#
# Settings (environment variables; --port N is the same as PORT=N):
#   OUT_DIR            where the results and the study go (default out)
#   TRIALS             the study's trials (default 24)
#   PORT               the dashboard's port on 127.0.0.1 (default 8050; 0: any free one),
#                      checked before anything else runs
#   DEMO_NO_DASHBOARD  1: stop before serving (the test of this script uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT_DIR:-out}"
port="${PORT:-8050}"
while (($#)); do
  case "$1" in
    --port) port="${2-}"; shift $(($# > 1 ? 2 : 1)) ;;
    --port=*) port="${1#--port=}"; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (settings: --port N, or see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || ((10#$port > 65535)); then
  echo "demo.sh: the port must be a number within 0..65535 (got '$port')" >&2
  exit 2
fi
port=$((10#$port))
# The dashboard comes last: find out now, not after the study, whether its port is free.
if [ "${DEMO_NO_DASHBOARD:-}" != 1 ] && [ "$port" != 0 ] && command -v python3 >/dev/null; then
  if ! reason="$(python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the dashboard binds
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError as exc:
    sys.exit(exc.strerror or str(exc))
' "$port" 2>&1)"; then
    echo "demo.sh: cannot serve the dashboard on 127.0.0.1:$port (${reason:-cannot bind});" \
      "nothing was run. Free the port or choose another: PORT=8051 bash scripts/demo.sh" \
      "(or --port 8051; 0: any free port)" >&2
    exit 2
  fi
fi
bash scripts/setup.sh
# the architecture descriptions and the search spaces beside them (each checked against
# the design it fits)
.venv/bin/cosim validate examples/*.yaml
.venv/bin/cosim simulate examples/d5005_paper_core.yaml --model paper-block-d512 \
  --out "$out/d5005-paper-block" --force
.venv/bin/cosim explore examples/u280_hbm.yaml --space examples/u280_hbm_space.yaml \
  --model 370m --trials "${TRIALS:-24}" --workers 2 \
  --storage "sqlite:///$out/example_study.db" --study example
if [ "${DEMO_NO_DASHBOARD:-}" = 1 ]; then
  exit 0
fi
exec .venv/bin/cosim dashboard --storage "sqlite:///$out/example_study.db" --study example \
  --port "$port"
