"""Parameter importance: each objective in its own direction, Optuna's remarks shown.

A synthetic study whose parameters each drive one thing: ``lanes`` sets tokens/s, a
``stall`` makes a few designs very slow, and ``leak`` sets the watts. What makes a design
fast is ``lanes``; what makes it slow is ``stall``: read as "lower is better" (PED-ANOVA's
rule for a ``target``), tokens/s ranked ``stall`` first.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import IntDistribution
from optuna.trial import create_trial

from dashboards import callbacks
from dashboards.state import Dashboard, DashboardConfig


def _study(path: Path, n: int, flat_watts: bool) -> str:
    storage = f"sqlite:///{path}"
    study = optuna.create_study(
        study_name="synthetic", storage=storage, directions=["maximize", "minimize"]
    )
    study.set_user_attr("objectives", ["tokens_per_s", "avg_power_w"])
    study.set_user_attr("explorer_format", 1)
    rng = random.Random(7)
    dists = {
        "lanes": IntDistribution(1, 8),
        "stall": IntDistribution(0, 9),
        "leak": IntDistribution(1, 8),
    }
    trials = []
    for _ in range(n):
        p = {name: rng.randint(d.low, d.high) for name, d in dists.items()}
        tokens_per_s = 100.0 * p["lanes"] * (0.05 if p["stall"] == 0 else 1.0)
        watts = 10.0 if flat_watts else 10.0 * p["leak"] + 0.01 * p["lanes"]
        trials.append(
            create_trial(
                params=p,
                distributions=dists,
                values=[tokens_per_s, watts],
                user_attrs={"status": "feasible", "summary": {}},
            )
        )
    study.add_trials(trials)
    return str(path)


def _importance(tmp_path: Path, n: int, flat_watts: bool = False) -> Any:
    db = _study(tmp_path / "s.db", n, flat_watts)
    board = Dashboard(DashboardConfig(storage=db, study="synthetic", baselines=[]))
    return board, board.importance("synthetic")


def test_each_objective_ranks_what_makes_it_good(tmp_path: Path) -> None:
    _, got = _importance(tmp_path, 300)
    tps, watts = got.values["tokens_per_s"], got.values["avg_power_w"]
    assert max(tps, key=tps.__getitem__) == "lanes", tps  # fast designs have many lanes
    assert max(watts, key=watts.__getitem__) == "leak", watts  # frugal ones leak little
    assert tps != watts
    assert tps["lanes"] > 2 * tps["stall"], tps
    assert not [w for w in got.warnings if "low `target`" in w]  # no misuse to warn of


def test_optunas_remarks_are_shown_not_hidden(tmp_path: Path) -> None:
    """Every design at the same power: Optuna warns its importances are all equal; shown."""
    board, got = _importance(tmp_path, 50, flat_watts=True)
    assert any(
        w.startswith("avg_power_w: Target and region quantiles select the same set of trials")
        for w in got.warnings
    ), got.warnings
    shown = str(callbacks.on_importance(board, "synthetic", "png"))
    assert "select the same set of trials" in shown
