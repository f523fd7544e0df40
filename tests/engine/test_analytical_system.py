"""The analytical tier for systems of cards against the SimPy tier and its own bounds.

Systems of the on-chip TerEffic-style card and of the HBM-streaming U280 design, on a
small synthetic workload shaped like the model (each SimPy run a fraction of a second).
The tolerance is the tier's measured worst error on these systems with margin, not a
target: ``benchmarks/explore.py`` and every two-tier study measure it on the real models.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from arch_models.spec.evolve import evolve_system
from arch_models.spec.system import System, load_system
from cosim.analytical import UnsupportedChangeError
from cosim.analytical_system import SystemAnalyticalModel, check_system_changes
from cosim.system import simulate_system
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

WL = synthetic_workload(layers=4, d=512, inter=1536, vocab=2048, steps=4, prompt=2)
#: Worst |relative error| allowed here (measured on these systems: below 0.001%).
TOLERANCE = 0.01
FIGURES = ("tokens_per_s", "ms_per_token", "time_to_first_token_ms", "avg_power_w",
           "energy_per_token_j")  # fmt: skip


def _system(tmp_path: Path, card: str, mapping: str, cards: int, groups: int = 1) -> System:
    shutil.copy(EXAMPLES / card, tmp_path / "card.yaml")
    (tmp_path / "sys.yaml").write_text(
        f"version: 1\nname: s\ncards:\n  - design: card.yaml\n    count: {cards}\n"
        f"links: {{card: aurora-64b66b-x4, host: pcie-gen3-x16}}\nmapping: {mapping}\n"
        f"sequences_in_flight: {groups}\n",
        encoding="utf-8",
    )
    return load_system(tmp_path / "sys.yaml")


@pytest.mark.parametrize(
    ("card", "mapping", "cards", "groups"),
    [
        ("tereffic_card_370m.yaml", "layers", 2, 1),
        ("tereffic_card_370m.yaml", "layers", 3, 2),
        ("tereffic_card_370m.yaml", "rows", 3, 1),
        ("u280_hbm.yaml", "layers", 2, 2),
        ("u280_hbm.yaml", "rows", 2, 1),
    ],
)
def test_the_system_tier_matches_the_simpy_tier(
    tmp_path: Path, card: str, mapping: str, cards: int, groups: int
) -> None:
    """Variants over the links, the cards' clock, batch and norm unit, each simulated."""
    system = _system(tmp_path, card, mapping, cards, groups)
    links = ["aurora-64b66b-x4", "qsfp28-100gbe"]
    columns = {
        "links.card": np.array([links[0], links[1], links[0], links[1]]),
        "card.clock_mhz": np.array([200.0, 250.0, 300.0, 250.0]),
        "card.units[0].batch": np.array([1, 1, 2, 4]),
        "card.rms.fuse_quantise": np.array([False, True, True, False]),
    }
    est = SystemAnalyticalModel(system, WL).evaluate(columns)
    for i in range(4):
        variant = evolve_system(system, {k: v[i].item() for k, v in columns.items()})
        r = simulate_system(variant, WL)
        got = est.summary(i)
        for name in FIGURES:
            assert got[name] == pytest.approx(getattr(r, name), rel=TOLERANCE), (i, name)
        assert got["family"].startswith(f"system: {'rows' if mapping == 'rows' else 'layers'}")
        assert bool(est.fits[i]) == r.fits


def test_no_system_variant_is_faster_than_its_bound_and_impossible_ones_are_invalid(
    tmp_path: Path,
) -> None:
    system = _system(tmp_path, "tereffic_card_370m.yaml", "layers", 2)
    columns = {
        "cards[0].count": np.array([1, 2, 3, 4, 5, 2, 3]),
        "mapping": np.array(["layers"] * 5 + ["rows"] * 2),
        "sequences_in_flight": np.array([1, 2, 3, 4, 1, 1, 1]),
    }
    est = SystemAnalyticalModel(system, WL).evaluate(columns)
    ok = est.valid
    assert ok[:4].all() and not ok[4]  # five cards for four layers
    assert np.isnan(est.tokens_per_s[4])
    assert (est.tokens_per_s[ok] <= est.bound_tokens_per_s[ok] * (1 + 1e-9)).all()
    # groups in flight multiply the tokens, not the pace of a sequence
    assert est.tokens_per_s[1] > est.tokens_per_s[0]


def test_fields_the_system_tier_does_not_model_are_named(tmp_path: Path) -> None:
    system = _system(tmp_path, "tereffic_card_370m.yaml", "layers", 2)
    check_system_changes(system, ["cards[0].count", "links.host", "card.clock_mhz"])
    with pytest.raises(UnsupportedChangeError, match=r"system field 'cards\[0\]\.design'"):
        check_system_changes(system, ["cards[0].design"])
    with pytest.raises(UnsupportedChangeError, match=r"device\.part"):
        check_system_changes(system, ["card.device.part"])


def test_a_card_field_may_take_null_among_its_values(tmp_path: Path) -> None:
    """Columns mixing None with numbers (a field left to its default) group as any other."""
    system = _system(tmp_path, "u280_hbm.yaml", "rows", 2)
    columns = {
        "card.hbm.path_bits_per_cycle": np.array([None, 512, None, 256], dtype=object),
        "mapping": np.array(["layers", "layers", "rows", "rows"]),
    }
    est = SystemAnalyticalModel(system, WL).evaluate(columns)
    assert est.valid.all()
    for i in range(4):
        changes = {k: v[i] for k, v in columns.items()}
        r = simulate_system(evolve_system(system, changes), WL)
        assert est.tokens_per_s[i] == pytest.approx(r.tokens_per_s, rel=TOLERANCE), changes
