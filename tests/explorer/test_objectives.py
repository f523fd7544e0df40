"""Studies that optimise other figures: the front in any directions, spaces, resumption."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from arch_models.validation.errors import SpecError
from explorer import ExplorerError, pareto_front, run_study
from explorer.objectives import DEFAULT_OBJECTIVES, METRICS, front_mask, objectives_of
from explorer.space import load_space
from tests.conftest import EXAMPLES
from tests.explorer.conftest import SMALL_SPACE, U280

THREE = ["tokens_per_s", "energy_per_token_j", "time_to_first_token_ms"]


def _dominated(values: np.ndarray, names: list[str]) -> np.ndarray:
    """Brute force: whether some other row is at least as good everywhere, better once."""
    sign = np.array([-1.0 if METRICS[n].direction == "maximize" else 1.0 for n in names])
    cost = values * sign
    out = np.zeros(len(cost), dtype=bool)
    for i, j in itertools.permutations(range(len(cost)), 2):
        if (cost[j] <= cost[i]).all() and (cost[j] < cost[i]).any():
            out[i] = True
    return out


@pytest.mark.parametrize(
    "names", [list(DEFAULT_OBJECTIVES), THREE, ["ms_per_token", "avg_power_w"]]
)
def test_the_front_is_every_row_no_other_dominates(names: list[str]) -> None:
    rng = np.random.default_rng(len(names))
    values = rng.integers(0, 6, size=(60, len(names))).astype(float)  # many ties
    values[3] = values[4]  # an exact repeat: both kept or both not
    values[7, 0] = np.nan  # never on the front
    mask = front_mask(values, names)
    finite = np.isfinite(values).all(axis=1)
    expected = finite & ~_dominated(np.where(finite[:, None], values, 1e9), names)
    assert mask.tolist() == expected.tolist()
    assert mask[3] == mask[4] and not mask[7]


def test_a_space_names_its_objectives_or_gets_the_default(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(SMALL_SPACE)
    plain = load_space(path)
    assert plain.objectives == DEFAULT_OBJECTIVES
    assert "objectives" not in plain.as_dict()  # as stored by studies made before the key
    path.write_text(SMALL_SPACE.replace("name: small\n", f"name: small\nobjectives: {THREE}\n"))
    named = load_space(path)
    assert named.objectives == tuple(THREE) and named.as_dict()["objectives"] == THREE


@pytest.mark.parametrize(
    ("objectives", "message"),
    [
        ("[tokens_per_s, joules]", "'joules' is not in supported list: tokens_per_s"),
        ("[tokens_per_s]", "give 2 or 3 objectives (got 1)"),
        ("[tokens_per_s, avg_power_w, ms_per_token, energy_per_token_j]", "(got 4)"),
        ("[tokens_per_s, tokens_per_s]", "an objective is named twice"),
        ("tokens_per_s", "objectives"),
    ],
)
def test_bad_objectives_are_refused_at_their_line(
    tmp_path: Path, objectives: str, message: str
) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(
        SMALL_SPACE.replace("name: small\n", f"name: small\nobjectives: {objectives}\n")
    )
    with pytest.raises(SpecError) as info:
        load_space(path)
    text = str(info.value)
    assert message in text and "space.yaml:3" in text, text


def test_a_study_optimises_its_spaces_objectives_and_keeps_them(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SMALL_SPACE.replace("name: small\n", f"name: small\nobjectives: {THREE}\n"))
    db = tmp_path / "s.db"
    out = run_study(U280, space, "tiny", 6, storage=db, progress=False, seed=1)
    study = out.study
    assert study.user_attrs["objectives"] == THREE
    assert objectives_of(study.user_attrs) == tuple(THREE)
    assert [d.name.lower() for d in study.directions] == ["maximize", "minimize", "minimize"]
    done = [t for t in study.trials if t.user_attrs.get("status") == "feasible"]
    assert done
    for t in done:
        summary = t.user_attrs["summary"]
        assert t.values == [pytest.approx(summary[n]) for n in THREE]
    front = pareto_front(study)
    assert set(front["trial"]) <= {t.number for t in done} and len(front)
    # resumed with the same space: more trials; with other objectives: refused, said why
    again = run_study(U280, space, "tiny", 8, storage=db, progress=False, seed=1)
    assert again.counts.done == 8
    plain = tmp_path / "plain.yaml"
    plain.write_text(SMALL_SPACE)
    with pytest.raises(ExplorerError, match="optimises tokens_per_s, energy_per_token_j"):
        run_study(
            U280, plain, "tiny", 9, storage=db, progress=False, seed=1,
            study_name=study.study_name,
        )  # fmt: skip


def test_a_study_starts_at_the_corners_of_its_space(tmp_path: Path) -> None:
    from explorer._sampling import corner

    space = tmp_path / "space.yaml"
    space.write_text(SMALL_SPACE)
    out = run_study(U280, space, "tiny", 4, storage=tmp_path / "s.db", progress=False, seed=5)
    first = sorted(out.study.trials, key=lambda t: t.number)[:2]
    bound = load_space(space)
    assert first[0].params == corner(bound, 0) == {
        "layout.cores": 4, "tmac.lanes": 32, "wbuf.double_buffered": True, "clock_mhz": 200.0
    }  # fmt: skip
    assert first[1].params == corner(bound, 1) == {
        "layout.cores": 16, "tmac.lanes": 64, "wbuf.double_buffered": False, "clock_mhz": 300.0
    }  # fmt: skip


def test_corners_follow_conditions_and_ranges(tmp_path: Path) -> None:
    from explorer._sampling import corner

    d5005 = load_space(EXAMPLES / "d5005_space.yaml")
    assert corner(d5005, 0) == {
        "ddr.path_bits_per_cycle": 8, "tmac.lanes": 4, "ddr.max_outstanding": 1,
        "ddr.path_latency_cycles": 2, "clock_mhz": 60.0,
    }  # fmt: skip
    # the last corner reads without limit: the latency it would set does not apply
    assert corner(d5005, 1) == {
        "ddr.path_bits_per_cycle": 64, "tmac.lanes": 32, "ddr.max_outstanding": None,
        "clock_mhz": 240.0,
    }  # fmt: skip
    ranges = load_space(EXAMPLES / "u280_hbm_space.yaml")
    assert corner(ranges, 0)["layout.cores"] == 4 and corner(ranges, 1)["layout.cores"] == 32
    assert corner(ranges, 1)["clock_mhz"] == 300.0
