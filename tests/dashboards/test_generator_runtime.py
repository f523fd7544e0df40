"""The page's generator runtime against the browser's own generators and async functions.

``generator_cases.js`` holds generator, async and async-generator functions (yields, values
sent in, try/catch/finally with return, break and throw, ``yield*``, ``for ... in``);
``generator_cases.compiled.js`` is the same file compiled by Babel's regenerator transform
(how is said in ``compile_generator_cases.js``). Each case's trace must be the same run
natively and compiled on ``dashboards/generator_runtime.js``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from dashboards.layout import GENERATOR_RUNTIME

HERE = Path(__file__).parent
CASES = HERE / "generator_cases.js"
COMPILED = HERE / "generator_cases.compiled.js"

RUN_ALL = """async () => {
  const out = {};
  for (const [name, run] of Object.entries(CASES)) {
    const late = new Promise((_, no) => setTimeout(() => no(new Error('timed out')), 2000));
    try { out[name] = JSON.stringify(await Promise.race([run(), late])); }
    catch (e) { out[name] = 'case failed: ' + (e && e.message || e); }
  }
  return out;
}"""


def _results(browser: Any, scripts: list[str]) -> dict[str, str]:
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content("<!DOCTYPE html><html><body></body></html>")
        for script in scripts:
            page.add_script_tag(content=script)
        assert not errors, errors
        result: dict[str, str] = page.evaluate(RUN_ALL)
        return result
    finally:
        context.close()


def test_the_compiled_cases_are_made_from_the_cases() -> None:
    header = COMPILED.read_text().splitlines()[0]
    digest = re.search(r"sha256 ([0-9a-f]{64})", header)
    assert digest, header
    assert digest.group(1) == hashlib.sha256(CASES.read_bytes()).hexdigest(), (
        "generator_cases.js changed: make generator_cases.compiled.js again "
        "(see compile_generator_cases.js)"
    )
    compiled = COMPILED.read_text()
    assert "function*" not in compiled and "async function" not in compiled
    for call in ("mark", "wrap", "awrap", "async", "keys"):
        assert f"regeneratorRuntime.{call}(" in compiled


def test_compiled_functions_on_the_runtime_behave_as_native_ones(browser: Any) -> None:
    native = _results(browser, [CASES.read_text()])
    compiled = _results(browser, [GENERATOR_RUNTIME, COMPILED.read_text()])
    assert len(native) >= 15 and native.keys() == compiled.keys()
    for name, trace in native.items():
        assert not trace.startswith("case failed"), (name, trace)
        assert compiled[name] == trace, name
    # the traces say something: values went through and blocks ran
    assert json.loads(native["values_sent_in"])[-1] == ["done", [10, 20]]
    assert "outer finally" in native["catch_rethrow_finally_order"]


def test_the_runtime_keeps_one_already_there(browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!DOCTYPE html><html><body></body></html>")
        page.add_script_tag(content="window.regeneratorRuntime = {mine: true};")
        page.add_script_tag(content=GENERATOR_RUNTIME)
        assert page.evaluate("() => window.regeneratorRuntime.mine") is True
    finally:
        context.close()


def test_a_broken_runtime_would_be_seen(browser: Any) -> None:
    """The comparison can fail: a runtime whose catch blocks lose the exception they
    caught gives other traces."""
    broken = GENERATOR_RUNTIME.replace(
        'if (record.type === "throw") thrown = record.arg;', "thrown = undefined;"
    )
    assert broken != GENERATOR_RUNTIME
    native = _results(browser, [CASES.read_text()])
    compiled = _results(browser, [broken, COMPILED.read_text()])
    differ = {name for name in native if compiled.get(name) != native[name]}
    assert {"try_catch_and_throw_in", "catch_rethrow_finally_order", "async_await"} <= differ
