"""The house's layers: the engine loads no optimiser, dashboard or deep-learning stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("optuna", "dash", "plotly", "torch", "triton", "sqlalchemy", "flask")


def _loaded_by(statement: str) -> set[str]:
    """Return the top-level packages ``python -X importtime`` reports for ``statement``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "statement",
    [
        "import cosim.engine",
        "import cosim.gpu_engine, cosim.results",
        "import arch_models.spec, arch_models.units, workloads",
    ],
)
def test_the_engine_imports_nothing_heavy(statement: str) -> None:
    loaded = _loaded_by(statement)
    assert "cosim" in loaded or "arch_models" in loaded  # the report was read
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
