"""Fixtures of the dashboard tests: a real small study, GPU baselines, a browser.

The study is a real explorer study: the U280 example on the tiny model, a 16-design grid
with feasible designs, designs over the device's resources (infeasible), combinations the
validator refuses (pruned, infeasible) and two whose simulation raises (failed). The
browser is Debian's Chromium driven by Playwright (../shared/RECIPES.md), never a
downloaded one; browser tests skip, saying why, only where it is not installed. The
``browser`` and ``page`` fixtures here take the place of pytest-playwright's (which would
launch Playwright's own, downloaded browser). The app is served in-process on 127.0.0.1,
port 0, by werkzeug in a daemon thread.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT

U280 = EXAMPLES / "u280_hbm.yaml"
#: Where browser tests leave their screenshots (CI keeps them as artifacts).
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
STUDY = "dash"

SPACE = """\
version: 1
name: dash
constraints: {power_cap_w: 30}
parameters:
  layout.cores: {choices: [4, 16]}
  tmac.lanes: {choices: [8, 64]}
  tmac.rows_parallel: {choices: [16, 256]}
  wbuf.capacity_kib: {choices: [256, 64]}
"""


def _make_study(folder: Path) -> Path:
    """Run the grid study (about 4 s); return its SQLite file."""
    import explorer.objective as objective_module
    from cosim.errors import SimulationError
    from explorer import run_study

    space = folder / "space.yaml"
    space.write_text(SPACE)
    real = objective_module.simulate

    def flaky(arch: Any, *args: Any, **kwargs: Any) -> Any:
        spec = arch.spec
        if (
            spec.unit("tmac").lanes == 8
            and spec.layout.cores == 4
            and spec.unit("wbuf").capacity_kib == 256
        ):
            raise SimulationError("no coefficient for this case (test)")
        return real(arch, *args, **kwargs)

    objective_module.simulate = flaky
    try:
        run_study(
            U280,
            space,
            "tiny",
            16,
            storage=folder / "study.db",
            study_name=STUDY,
            sampler="grid",
            progress=False,
        )
    finally:
        objective_module.simulate = real
    return folder / "study.db"


@pytest.fixture(scope="session")
def study_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real explorer study (read-only for the tests: copy it to change it)."""
    return _make_study(tmp_path_factory.mktemp("dash-study"))


@pytest.fixture
def study_copy(study_db: Path, tmp_path: Path) -> Path:
    """A private copy of the study (with its trace cache), for tests that add trials."""
    target = tmp_path / "study.db"
    with sqlite3.connect(study_db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)  # the file alone may lack what its write-ahead log holds
    cache = study_db.with_name("study.db.cache")
    if cache.is_dir():
        shutil.copytree(cache, tmp_path / "study.db.cache")
    return target


def gpu_case(model: str, impl: str, launch: str, batch: int, tps: float, watts: float) -> Any:
    from tests.gpubench.sample import case

    c = case(model=model, impl=impl, launch=launch, batch=batch)
    import dataclasses

    return dataclasses.replace(
        c,
        tokens_per_s=tps,
        avg_power_w=watts,
        energy_per_token_j=watts / tps,
        decode_ms_per_token=1000.0 * batch / tps,
    )


def add_trial_copy(db: Path) -> None:
    """Add to the study in ``db`` a finished copy of its first feasible trial."""
    import optuna
    from optuna.trial import TrialState, create_trial

    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{db}")
    done = next(t for t in study.trials if t.user_attrs.get("status") == "feasible")
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            values=done.values,
            params=done.params,
            distributions=done.distributions,
            user_attrs=done.user_attrs,
        )
    )


@pytest.fixture(scope="session")
def baseline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid GPU baseline with cases on the tiny model (the study's) and on 370m."""
    from gpubench import Baseline, write_baseline
    from tests.gpubench.sample import run

    cases = [
        gpu_case("tiny", "dense", "graph", 1, 9000.0, 180.0),
        gpu_case("tiny", "packed", "graph", 1, 12000.0, 160.0),
        gpu_case("tiny", "packed", "graph", 16, 150000.0, 420.0),
        gpu_case("370m", "dense", "graph", 1, 2000.0, 300.0),
    ]
    path = tmp_path_factory.mktemp("dash-baseline") / "h200.json"
    write_baseline(path, Baseline(runs=[run()], cases=cases))
    return path


@pytest.fixture(scope="session")
def shipped_as_tiny(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The shipped baselines' 370M cases, renamed to the tiny model (the test study's).

    Every measured implementation of both cards at batch 1 and 16: the densest set of
    GPU stars and labels the Pareto view draws for a real model.
    """
    import dataclasses

    from gpubench import read_baseline, write_baseline
    from gpubench.schema import shipped_baseline_paths

    folder = tmp_path_factory.mktemp("shipped-as-tiny")
    out = []
    for path in shipped_baseline_paths():
        base = read_baseline(path)
        cases = [dataclasses.replace(c, model="tiny") for c in base.cases if c.model == "370m"]
        out.append(write_baseline(folder / path.name, dataclasses.replace(base, cases=cases)))
    return out


# ----------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright (skips only where it is not installed)."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test item (the page fixture reads it)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (1400 x 1000); a failing test leaves a screenshot of it in ARTIFACTS."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        shot(pg, f"failed-{request.node.name}")
    context.close()


class Served:
    """An app served in a daemon thread; ``url`` is its address."""

    def __init__(self, app: Any) -> None:
        from dashboards.app import make_server

        self.server = make_server(app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Any]:
    """``serve(config)`` → the URL of an app serving it (stopped after the test)."""
    from dashboards.app import create_app

    started: list[Served] = []

    def start(config: Any) -> str:
        s = Served(create_app(config))
        started.append(s)
        return s.url

    yield start
    for s in started:
        s.close()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under :data:`ARTIFACTS`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
