#!/usr/bin/env bash
# Creates .venv and installs the package with what the tests need (idempotent).
# Debian packages listed in DEBIAN_PACKAGES are installed with apt-get when missing
# (CI and a fresh machine run as root; elsewhere sudo is used if present).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=()
# explorer: postgresql (distributed-study tests), verilator (lint of exported HDL and RTL
# bundles; the RTL twin's lint, bit-exact and cycle tests; cosim rtlcheck), yosys
# (elaborates the RTL twin, synthesises an exported bundle), tcl (tclsh reads exported Tcl
# back); chromium: kaleido renders PNG plots of fronts with it, and the
# dashboard's browser tests drive it through Playwright.
DEBIAN_PACKAGES+=(postgresql verilator yosys tcl chromium)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# torch is pinned here (not in the package) to the CPU build this image keeps on disk.
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' torch==2.13.0 2>&1 \
  | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import cosim, torch" >/dev/null
