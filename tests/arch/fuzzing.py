"""Hostile architecture descriptions, and what the tool must do with each.

Strategies (Hypothesis) that mutate the example designs: deleted keys, values of random
type (huge numbers, NaN, strings, lists, mappings, deep nesting), added keys, garbage
bytes spliced into the text, explicit YAML tags with bad values, anchors and aliases.
:func:`check_description` is the property: a file is either refused with a
:class:`SpecError` whose every line is ``file:line path: message``, or it validates, and
then it simulates (a short synthetic workload) or is refused by the engine with a
:class:`SimulationError`; anything else is a bug, and so is an answer slower than
:data:`CASE_SECONDS`. The tests run a bounded sample; ``benchmarks/fuzz.py`` runs many.
"""

from __future__ import annotations

import copy
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import yaml
from hypothesis import strategies as st

from arch_models.spec import SpecError, parse_yaml, validate_arch
from cosim.engine import simulate
from cosim.errors import SimulationError
from tests.conftest import example_designs
from tests.engine.synth import synthetic_workload

SOURCES = {p.name: p.read_text(encoding="utf-8") for p in example_designs()}
DATA = {name: yaml.safe_load(text) for name, text in SOURCES.items()}
PROBLEM_LINE = re.compile(r"^[^\s:]+\.yaml:\d+ [^\n]+: [^\n]+$")
#: Longest a case may take to be answered (read, validate and, if valid, simulate).
CASE_SECONDS = 10.0
#: What a valid mutant is simulated on: one small block, a prompt token and a decode step.
WORKLOAD = synthetic_workload(layers=1, d=128, inter=384, vocab=64, steps=1, prompt=1)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["ternary_array", "hbm", "ddr4", "5trit", "2bit", "m20k", "uram", "rows"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
#: Explicit tags with text that is, or is not, such a value.
tagged = st.tuples(
    st.sampled_from(["!!int", "!!float", "!!bool", "!!timestamp", "!!str", "!!null", "!!binary"]),
    st.sampled_from(["x", "1", "-7", "1e999", "nan", "yes", "2020-99-99", "2024-01-01", "~", ""]),
).map(lambda t: f"{t[0]} {t[1]}")


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return every path into nested dicts and lists (the root included)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(paths_of(v, (*prefix, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(paths_of(v, (*prefix, i)))
    return out


def dump(data: Any) -> str:
    """Return ``data`` as YAML text in file order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def mutate(draw: st.DrawFn, data: Any, replacements: st.SearchStrategy[Any] = values) -> Any:
    """Delete, replace (with a draw of ``replacements``) or add one to three keys of ``data``."""
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in paths_of(data) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = draw(replacements)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        else:
            parent.append(draw(values))
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """An example design with one to three keys deleted, replaced or added."""
    name = draw(st.sampled_from(sorted(DATA)))
    return name, dump(mutate(draw, copy.deepcopy(DATA[name])))


@st.composite
def tagged_values(draw: st.DrawFn) -> tuple[str, str]:
    """An example design with a scalar line's value replaced by an explicitly tagged one."""
    name = draw(st.sampled_from(sorted(SOURCES)))
    lines = SOURCES[name].splitlines()
    scalar_lines = [i for i, line in enumerate(lines) if re.match(r"^\s*\w+: [^{\[>|#]", line)]
    i = draw(st.sampled_from(scalar_lines))
    key = lines[i].split(":", 1)[0]
    lines[i] = f"{key}: {draw(tagged)}"
    return name, "\n".join(lines) + "\n"


@st.composite
def aliased(draw: st.DrawFn) -> tuple[str, str]:
    """An example design whose units are repeated through an anchor and aliases."""
    name = draw(st.sampled_from(sorted(DATA)))
    text = SOURCES[name]
    copies = draw(st.integers(1, 6))
    head, _, units = text.partition("units:\n")
    anchored = units.replace("  - kind:", "  - &u kind:", 1)
    return name, head + "units:\n" + anchored + "  - *u\n" * copies


@st.composite
def garbage(draw: st.DrawFn) -> tuple[str, bytes]:
    """An example design with random bytes spliced in somewhere."""
    name = draw(st.sampled_from(sorted(SOURCES)))
    raw = SOURCES[name].encode()
    at = draw(st.integers(0, len(raw) - 1))
    return name, raw[:at] + draw(st.binary(max_size=64)) + raw[at:]


#: Every kind of hostile description, for one strategy that draws from all.
descriptions = st.one_of(mutated(), tagged_values(), aliased(), garbage())


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeoutError` in the block after ``seconds`` (a hang is a bug).

    Signals reach the main thread only: elsewhere the block runs untimed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_description(name: str, text: str | bytes, *, run: bool = True) -> str:
    """Read, validate and (if valid and ``run``) simulate one file; return the outcome.

    Returns:
        ``refused`` (located problems), ``refused by the engine`` (a SimulationError),
        or ``simulated`` (or ``valid`` when not run).

    Raises:
        AssertionError: A problem line that does not say where.
        TimeoutError: No answer within :data:`CASE_SECONDS`.
        Exception: Anything else the tool raised: a bug.
    """
    with time_limit(CASE_SECONDS):
        try:
            arch = validate_arch(parse_yaml(text, name))
        except SpecError as exc:
            assert exc.problems
            for line in str(exc).splitlines():
                assert PROBLEM_LINE.match(line) or line.startswith("... and "), line
            return "refused"
        if not run or arch.is_gpu:
            return "valid"
        try:
            simulate(arch, WORKLOAD)
        except SimulationError:
            return "refused by the engine"
        return "simulated"


def run_cases(
    n: int, seed: int, check: Callable[[str, str | bytes], str] = check_description
) -> Counter[str]:
    """Run ``n`` hostile descriptions (seeded); return the outcomes counted.

    A bug (an exception other than the tool's own refusals, or a hang) propagates with
    the case that caused it, after Hypothesis has shrunk it.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    counts: Counter[str] = Counter()
    slowest = [0.0]

    @hseed(seed)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(descriptions)
    def case(c: tuple[str, str | bytes]) -> None:
        t0 = time.perf_counter()
        counts[check(*c)] += 1
        slowest[0] = max(slowest[0], time.perf_counter() - t0)

    case()
    counts["slowest_ms"] = round(slowest[0] * 1000)
    return counts
