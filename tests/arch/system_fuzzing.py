"""Hostile system descriptions (several cards and their links), and what the tool must do.

The example system (``examples/tereffic_onchip_370m.yaml``) mutated as the descriptions
are (:mod:`tests.arch.fuzzing`: keys deleted, replaced by values of random type, added),
with garbage bytes spliced in, or with its cards pointing at odd files (a folder, a device,
the system itself, a missing file, a search space). :func:`check_system` is the property:
a file is refused with a :class:`SpecError` whose every line is ``file:line path:
message``, or it validates and then simulates a short synthetic workload (or is refused
by the engine with a :class:`SimulationError`), within :data:`CASE_SECONDS`.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from hypothesis import strategies as st

from arch_models.spec import SpecError, parse_yaml
from arch_models.spec.system import validate_system
from cosim.errors import SimulationError
from cosim.system import simulate_system
from tests.arch.fuzzing import CASE_SECONDS, PROBLEM_LINE, dump, mutate, time_limit, values
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

SYSTEM = EXAMPLES / "tereffic_onchip_370m.yaml"
CARD = EXAMPLES / "tereffic_card_370m.yaml"
SOURCE = SYSTEM.read_text(encoding="utf-8")
DATA = yaml.safe_load(SOURCE)
#: Four layers: up to four cards of a pipeline each get one.
WORKLOAD = synthetic_workload(layers=4, d=128, inter=384, vocab=64, steps=1, prompt=1)
#: Systems with more cards than this are validated, not simulated (time, not correctness).
MAX_SIMULATED_CARDS = 8
ODD_DESIGNS = (".", "/dev/null", "missing.yaml", "sys.yaml", "space.yaml", "../" * 30 + "x")


@st.composite
def mutated_systems(draw: st.DrawFn) -> str:
    """The example system with one to three keys deleted, replaced or added."""
    odd = st.one_of(values, st.sampled_from(ODD_DESIGNS))
    return dump(mutate(draw, copy.deepcopy(DATA), odd))


@st.composite
def garbage_systems(draw: st.DrawFn) -> bytes:
    """The example system with random bytes spliced in somewhere."""
    raw = SOURCE.encode()
    at = draw(st.integers(0, len(raw) - 1))
    return raw[:at] + draw(st.binary(max_size=64)) + raw[at:]


#: Every kind of hostile system.
systems = st.one_of(mutated_systems(), garbage_systems())


def check_system(text: str | bytes, *, run: bool = True) -> str:
    """Validate (and if valid and ``run``, simulate) one system file; return the outcome.

    The file sits in a folder with the example card beside it (its ``design``) and a
    search space (a file of the wrong kind to point at); ``sys.yaml`` is the file itself.

    Raises:
        AssertionError: A problem line that does not say where.
        TimeoutError: No answer within :data:`CASE_SECONDS`.
        Exception: Anything else the tool raised: a bug.
    """
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(CARD, folder / CARD.name)
        shutil.copy(EXAMPLES / "u280_small_space.yaml", folder / "space.yaml")
        (folder / "sys.yaml").write_bytes(text.encode() if isinstance(text, str) else text)
        with time_limit(CASE_SECONDS):
            try:
                system = validate_system(parse_yaml(text, "sys.yaml"), folder)
            except SpecError as exc:
                assert exc.problems
                for line in str(exc).splitlines():
                    assert PROBLEM_LINE.match(line) or line.startswith("... and "), line
                return "refused"
            if not run or len(system.cards) > MAX_SIMULATED_CARDS:
                return "valid"
            try:
                simulate_system(system, WORKLOAD)
            except SimulationError:
                return "refused by the engine"
            return "simulated"


def run_system_cases(n: int, seed: int) -> Counter[str]:
    """Run ``n`` hostile systems (seeded); return the outcomes counted."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    counts: Counter[str] = Counter()
    slowest = [0.0]

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(systems)
    def case(text: str | bytes) -> None:
        t0 = time.perf_counter()
        counts[check_system(text)] += 1
        slowest[0] = max(slowest[0], time.perf_counter() - t0)

    case()
    counts["slowest_ms"] = round(slowest[0] * 1000)
    return counts
