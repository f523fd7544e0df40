"""Hostile search-space files never give a traceback, and never take long.

Hypothesis writes space files a user could write (numbers of every size, NaN and
infinities, booleans where numbers go, empty and huge choices, ranges of any width and
step, conditions naming unknown or later parameters, keys of every shape). Each must be
refused with a :class:`SpecError` whose problems are all ``file:line path: message``
lines, or give a valid space whose size, grid, first designs and samples come back at
once. Any other exception, or a case slower than :data:`BOUND_S`, is a bug.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from collections import Counter
from typing import Any

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve_system
from arch_models.spec.system import load_system
from arch_models.validation import SpecError
from arch_models.validation.source import parse_yaml
from explorer._sampling import make_sampler
from explorer.errors import ExplorerError
from explorer.objectives import directions
from explorer.space import MAX_INT, validate_space
from tests.conftest import EXAMPLES
from tests.explorer.conftest import U280

ARCH = load_arch(U280)
#: Seconds one case may take (validation, size, first designs, a few samples), generous
#: for a loaded machine: before the fix, one range took minutes or ran out of memory.
BOUND_S = 10.0
PROBLEM_LINE = re.compile(r"^[^\s:]+\.yaml:\d+ [^\n]+: [^\n]+$")

#: Real paths of the design (each kind of field), and a few that are not.
KEYS = [
    "layout.cores", "hbm.channels", "tmac.lanes", "tmac.rows_parallel", "tmac.weight_packing",
    "tmac.zero_skipping", "wbuf.capacity_kib", "wbuf.double_buffered", "clock_mhz",
    "hbm.latency_ns", "units[2].lanes", "units[0]", "tmac.kind", "nope.x", "units[99].lanes",
    "a..b", "[3]", "", "units[99999999999999999999].lanes",
]  # fmt: skip

huge_ints = st.integers(min_value=-(2**1100), max_value=2**1100)
numbers = st.one_of(
    st.integers(-5, 600),
    huge_ints,
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-320, max_value=1e-300),
    st.sampled_from([0, 1, 2**53, 2**53 + 1, -(2**63), 1e308, -1e308, 5e-324, 0.0, -0.0]),
)
scalars = st.one_of(
    st.none(), st.booleans(), numbers, st.text(max_size=12), st.sampled_from(["5trit", "2bit"])
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


#: Values that fit the design's fields, so that most drawn spaces get as far as binding.
FITTING: dict[str, list[Any]] = {
    "layout.cores": [1, 2, 4, 8, 16], "hbm.channels": [8, 16, 32], "tmac.lanes": [16, 32, 64],
    "tmac.rows_parallel": [4, 8, 16], "tmac.weight_packing": ["5trit", "2bit"],
    "tmac.zero_skipping": [True, False], "wbuf.capacity_kib": [64, 128, 256],
    "wbuf.double_buffered": [True, False], "clock_mhz": [150.0, 200.0, 250.0],
    "hbm.latency_ns": [100.0, 150.0], "units[2].lanes": [32, 64],
}  # fmt: skip


def _often(draw: st.DrawFn, good: Any, bad: st.SearchStrategy[Any]) -> Any:
    """Mostly a fitting value, sometimes a hostile one."""
    return draw(bad) if draw(st.integers(0, 4)) == 0 else good


@st.composite
def parameters(draw: st.DrawFn, key: str, earlier: list[str]) -> dict[str, Any]:
    fitting = FITTING.get(key, [1, 2])
    shape = draw(st.sampled_from(["choices", "choices", "range", "range", "wide", "junk"]))
    param: dict[str, Any] = {}
    if shape == "choices":
        good = draw(st.lists(st.sampled_from(fitting), min_size=1, max_size=4, unique=True))
        param["choices"] = _often(
            draw, good, st.one_of(st.lists(scalars, max_size=6), st.just([]), anything)
        )
    elif shape == "range":
        numeric = [v for v in fitting if isinstance(v, int | float) and not isinstance(v, bool)]
        low, high = (min(numeric), max(numeric)) if numeric else (1, 2)
        param["low"] = _often(draw, low, st.one_of(numbers, st.booleans(), st.text(max_size=3)))
        param["high"] = _often(draw, high, st.one_of(numbers, st.booleans()))
        if draw(st.booleans()):
            param["step"] = _often(draw, 1 if isinstance(low, int) else 1.0, numbers)
        if draw(st.integers(0, 3)) == 0:
            param["log"] = _often(draw, True, scalars)
    elif shape == "wide":  # the ranges that used to be expanded: wide, or finely stepped
        low = draw(st.one_of(st.integers(1, 64), st.integers(-(2**60), 2**60)))
        param.update(low=low, high=low + draw(st.integers(0, 2**62)))
        if draw(st.booleans()):
            param["step"] = draw(st.one_of(st.integers(1, 5), st.floats(1e-300, 1.0)))
        if draw(st.booleans()):
            param = {k: float(v) for k, v in param.items()}
    else:
        param = draw(st.dictionaries(st.text(max_size=6), anything, max_size=3))
    if earlier and draw(st.integers(0, 2)) == 0:
        other = draw(st.sampled_from(earlier))
        wanted = draw(st.lists(st.sampled_from(FITTING.get(other, [1])), max_size=3))
        when = {other: wanted if draw(st.booleans()) or not wanted else wanted[0]}
        param["when"] = _often(
            draw,
            when,
            st.one_of(
                st.dictionaries(
                    st.one_of(st.sampled_from(KEYS), st.text(max_size=6)),
                    st.one_of(scalars, st.lists(scalars, max_size=3)),
                    max_size=3,
                ),
                anything,
            ),
        )
    return param


#: A system of cards as a study's base, its own fields and its cards' (``card.``).
SYSTEM = load_system(EXAMPLES / "tereffic_onchip_370m.yaml")
SYSTEM_KEYS = [
    "cards[0].count", "mapping", "links.card", "links.host", "sequences_in_flight",
    "card.tmac.lanes", "card.layout.batch", "card.clock_mhz", "card.nope", "card.",
    "cards[5].count", "cards[0].design", "card.units[99].lanes", "links", "card.card.lanes",
]  # fmt: skip
FITTING.update(
    {
        "cards[0].count": [2, 3, 4], "mapping": ["layers", "rows"],
        "links.card": ["aurora-64b66b-x4", "qsfp28-100gbe", "pcie-gen3-x16"],
        "links.host": ["pcie-gen3-x16", "pcie-gen4-x16"], "sequences_in_flight": [1, 2],
        "card.tmac.lanes": [32, 64], "card.layout.batch": [1, 4], "card.clock_mhz": [200.0],
    }
)  # fmt: skip
#: Objectives a space may name, and some it may not.
OBJECTIVES = ["tokens_per_s", "avg_power_w", "energy_per_token_j", "ms_per_token",
              "time_to_first_token_ms", "joules", "", "tokens_per_s"]  # fmt: skip


@st.composite
def spaces(draw: st.DrawFn, keys_from: tuple[str, ...] = tuple(KEYS)) -> str:
    keys = draw(st.lists(st.sampled_from(keys_from), min_size=1, max_size=6, unique=True))
    params: dict[str, Any] = {}
    for i, key in enumerate(keys):
        earlier = keys[:i] if draw(st.integers(0, 5)) else keys
        params[key] = draw(parameters(key, earlier))
    doc: dict[str, Any] = {
        "version": _often(draw, 1, st.sampled_from([2, "1", True, None])),
        "name": _often(draw, "fuzz", st.sampled_from(["bad name", "", "x" * 200])),
        "parameters": _often(draw, params, anything),
    }
    if draw(st.integers(0, 3)) == 0:
        doc["constraints"] = _often(draw, {"power_cap_w": 45}, anything)
    if draw(st.integers(0, 3)) == 0:
        doc["objectives"] = _often(
            draw, draw(st.lists(st.sampled_from(OBJECTIVES), max_size=4)), anything
        )
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _exercise(text: str, base: Any = ARCH) -> str:
    """Validate, then use the space as a study would; only clean errors may come out."""
    try:
        space = validate_space(parse_yaml(text, "fuzz.yaml"), base)
    except SpecError as exc:
        assert exc.problems
        for line in str(exc).splitlines():
            assert PROBLEM_LINE.match(line), line
        event("refused")
        return "refused"
    event("valid")
    size = space.size()
    assert size == math.inf or (isinstance(size, int) and size >= 1)
    try:
        grid = space.grid()
    except ValueError as exc:  # a continuous range: the CLI says so as an ExplorerError
        assert "a grid needs a step or choices" in str(exc)
    else:
        assert set(grid) == set(space.parameters)
        for i, design in enumerate(space.designs()):
            assert set(design) <= set(space.parameters)
            if i == 20:
                break
    for name in ("nsga2", "tpe", "random"):
        study = optuna.create_study(
            directions=directions(space.objectives),
            sampler=make_sampler(name, seed=0, space=space, population_size=4),
        )
        for _ in range(2):
            trial = study.ask()
            chosen = space.suggest(trial)
            if base is SYSTEM:  # a system variant: made, or refused with located problems
                with contextlib.suppress(SpecError):
                    evolve_system(SYSTEM, chosen)
            study.tell(trial, [1.0] * len(space.objectives))
    return "valid"


@settings(
    max_examples=400,
    deadline=None,  # timed below, against a bound a loaded machine still meets
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spaces())
def test_hostile_space_files_give_clean_errors_quickly(text: str) -> None:
    t0 = time.perf_counter()
    with contextlib.suppress(ExplorerError):  # a clean, one-message error
        _exercise(text)
    took = time.perf_counter() - t0
    assert took < BOUND_S, f"{took:.1f} s for:\n{text}"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spaces(tuple(SYSTEM_KEYS)))
def test_hostile_spaces_over_a_system_give_clean_errors_quickly(text: str) -> None:
    t0 = time.perf_counter()
    with contextlib.suppress(ExplorerError):
        _exercise(text, SYSTEM)
    took = time.perf_counter() - t0
    assert took < BOUND_S, f"{took:.1f} s for:\n{text}"


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("{low: 0, high: 1.0e+400}", "must be a finite number"),
        ("{low: 0, high: 100000000000000000000}", f"must be within ±{MAX_INT}"),
        ("{choices: [1, 100000000000000000000]}", f"must be within ±{MAX_INT}"),
        ("{low: 0.0, high: 1.0, step: 1.0e-300}", "gives more than"),
        ("{low: -1.0e+308, high: 1.0e+308}", "high - low must be finite"),
        ("{low: .nan, high: 1.0}", "must be a finite number"),
        ("{low: 1, high: 8, step: .inf}", "must be a finite number"),
        ("{low: true, high: 8}", "must be a number"),
        ("{choices: []}", "must have at least 1 item"),
        ("{choices: [1], when: {clock_mhz: []}}", "must list at least one value"),
        ("{choices: [1], when: {nope: 1}}", "names no parameter"),
    ],
)
def test_absurd_ranges_are_refused_at_their_line(param: str, message: str) -> None:
    text = (
        "version: 1\nname: s\nparameters:\n"
        "  clock_mhz: {choices: [200.0, 250.0]}\n"
        f"  layout.cores: {param}\n"
    )
    with pytest.raises(SpecError) as info:
        validate_space(parse_yaml(text, "s.yaml"))
    lines = str(info.value).splitlines()
    assert any(line.startswith("s.yaml:5 parameters['layout.cores']") for line in lines), lines
    assert any(message in line for line in lines), lines


def test_wide_ranges_are_counted_not_expanded() -> None:
    """A hundred million values, with a condition on them: counted and drawn at once.

    Before, the range was expanded into a list first (gigabytes, or a MemoryError).
    """
    text = (
        "version: 1\nname: s\nparameters:\n"
        "  wbuf.capacity_kib: {low: 1, high: 100000000}\n"
        "  tmac.lanes: {choices: [32, 64], when: {wbuf.capacity_kib: [64, 128, 256]}}\n"
        "  clock_mhz: {low: 150.0, high: 300.0, step: 1.0e-9}\n"
    )
    t0 = time.perf_counter()
    space = validate_space(parse_yaml(text, "s.yaml"))
    assert space.parameters["wbuf.capacity_kib"].count() == 100_000_000
    assert space.parameters["wbuf.capacity_kib"].contains(99_999_999)
    assert not space.parameters["clock_mhz"].contains(150.0 + 0.5e-9)
    steps = 150_000_000_000 + 1
    assert space.size() == (100_000_000 - 3 + 3 * 2) * steps
    assert next(iter(space.designs())) == {"wbuf.capacity_kib": 1, "clock_mhz": 150.0}
    # bound to the design, only the ends are checked (each value alone, at its line)
    with pytest.raises(SpecError) as info:
        validate_space(parse_yaml(text, "s.yaml"), ARCH)
    assert str(info.value).startswith(
        "s.yaml:4 parameters['wbuf.capacity_kib'].high: units[3].capacity_kib must be <="
    )
    assert time.perf_counter() - t0 < BOUND_S


def test_counting_conditions_is_bounded() -> None:
    """Conditions that tell every earlier choice apart make counting exponential: refused."""
    keys = [f"units[{i}].count" for i in range(40)]
    lines = [f"  {keys[0]}: {{choices: [1, 2]}}"]
    for i, key in enumerate(keys[1:], 1):
        when = ", ".join(f"'{k}': [1, 2]" for k in keys[:i])
        lines.append(f"  {key}: {{choices: [1, 2], when: {{{when}}}}}")
    text = "version: 1\nname: s\nparameters:\n" + "\n".join(lines) + "\n"
    space = validate_space(parse_yaml(text, "s.yaml"))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="too intricate to count"):
        space.size()
    assert time.perf_counter() - t0 < BOUND_S


def run_space_cases(n: int, seed: int = 0) -> Counter[str]:
    """Run ``n`` hostile space files (seeded, for ``benchmarks/fuzz.py``); count outcomes.

    A traceback, or a case slower than :data:`BOUND_S`, propagates with its case.
    """
    from hypothesis import seed as hseed

    counts: Counter[str] = Counter()
    slowest = [0.0]

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(spaces())
    def case(text: str) -> None:
        t0 = time.perf_counter()
        try:
            counts[_exercise(text)] += 1
        except ExplorerError:
            counts["ExplorerError"] += 1
        took = time.perf_counter() - t0
        assert took < BOUND_S, f"{took:.1f} s for:\n{text}"
        slowest[0] = max(slowest[0], took)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    case()
    counts["slowest_ms"] = round(slowest[0] * 1000)
    return counts
