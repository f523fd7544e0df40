"""Screenshots of every dashboard view at 1400x900, for the README (docs/screenshots/).

Builds (or reuses) a small real study of the U280 HBM design space on the 370M model,
as scripts/demo.sh does, serves ``cosim dashboard`` on 127.0.0.1 with that storage (and
every shipped GPU baseline, the default), opens each view in Debian's Chromium under
Playwright with a 1400x900 window, waits for its figures and saves one PNG per view:

- ``pareto.png``: the Pareto view as it opens;
- ``pareto-all-gpus.png``: the same with every measured GPU case at batch sizes 1 and 16;
- ``design.png``: the Design view of the fastest design on the front, with its timeline;
- ``compare.png``: Compare with that design, the most frugal one on the front and the
  default GPU case;
- ``study.png``: the Study view with parameter importance computed;
- ``export.png``: the Export view of the selected design.

Each image is the 1400x900 window as it first shows the view; where the view is taller,
``<view>-full.png`` holds the whole page at the same width.

Run from the repository (about a minute, the study included)::

    .venv/bin/python scripts/screenshots.py            # into docs/screenshots/
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --port 8060
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
WIDTH, HEIGHT = 1400, 900
DEFAULT_STORAGE = "sqlite:///out/screenshots/study.db"
DEFAULT_STUDY = "u280-small-370m"

#: True once no Dash callback is running and no dcc.Loading spinner shows.
SETTLED_JS = """() => !document.querySelector('[data-dash-is-loading="true"]')
  && !document.querySelector('._dash-loading-callback')"""


@dataclass(frozen=True)
class Picks:
    """The two designs the Design and Compare views show (trial numbers)."""

    fastest: int
    frugal: int


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Save a 1400x900 screenshot of every dashboard view (docs/screenshots/).",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs"
    )
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        help=f"study storage URL or SQLite file (default {DEFAULT_STORAGE}); the study is "
        "built there by `cosim explore` unless it exists already",
    )
    parser.add_argument("--study", default=DEFAULT_STUDY, help=f"study (default {DEFAULT_STUDY})")
    parser.add_argument("--trials", type=int, default=24, help="trials of a new study (24)")
    parser.add_argument("--port", type=int, default=0, help="dashboard port (default 0: any free)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"Chromium binary ({CHROMIUM})")
    args = parser.parse_args(argv)
    if "://" not in args.storage:
        args.storage = f"sqlite:///{Path(args.storage).resolve()}"
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be within 0..65535 (got {args.port})")
    return args


def _cosim(*args: str) -> list[str]:
    """The command line of ``cosim`` run by this interpreter (its package as imported)."""
    return [sys.executable, "-m", "cosim_cli", *args]


def _study_exists(storage: str, study: str) -> bool:
    import optuna

    if storage.startswith("sqlite:///"):
        path = Path(storage.removeprefix("sqlite:///"))
        if not path.is_file() or path.stat().st_size == 0:
            return False
    try:
        return study in optuna.get_all_study_names(storage=storage)
    except Exception:  # not a study storage (yet): explore says what is wrong
        return False


def ensure_study(storage: str, study: str, trials: int) -> None:
    """Run the example study into ``storage`` unless it holds ``study`` already."""
    if _study_exists(storage, study):
        print(f"reusing study '{study}' in {storage}")
        return
    if storage.startswith("sqlite:///"):
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    print(f"building study '{study}' ({trials} trials) in {storage}")
    subprocess.run(
        _cosim(
            "explore",
            "examples/u280_hbm.yaml",
            "--space",
            "examples/u280_small_space.yaml",
            "--model",
            "370m",
            "--trials",
            str(trials),
            "--storage",
            storage,
            "--study",
            study,
            "--seed",
            "0",
            "--no-progress",
        ),
        cwd=ROOT,
        check=True,
    )


def pick_designs(storage: str, study: str) -> Picks:
    """Return the fastest and the most frugal feasible designs on the study's front."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loaded = optuna.load_study(study_name=study, storage=storage)
    front = [t for t in loaded.best_trials if t.user_attrs.get("status") == "feasible"]
    if len(front) < 2:
        front = [
            t
            for t in loaded.get_trials(deepcopy=False)
            if t.values is not None and t.user_attrs.get("status") == "feasible"
        ]
    if len(front) < 2:
        raise SystemExit(f"study '{study}' has fewer than two feasible designs to show")
    # objectives: tokens/s (maximised), watts (minimised)
    fastest = max(front, key=lambda t: (t.values[0], -t.number))
    frugal = min((t for t in front if t.number != fastest.number), key=lambda t: t.values[1])
    return Picks(fastest=fastest.number, frugal=frugal.number)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(storage: str, study: str, port: int, timeout_s: float = 120.0) -> Iterator[str]:
    """Serve ``cosim dashboard`` on 127.0.0.1 while the block runs; yield its URL."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/"
    command = _cosim(
        "dashboard", "--storage", storage, "--study", study, "--port", str(port), "--refresh", "0"
    )
    server = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the dashboard stopped (exit status {server.returncode})")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the dashboard did not answer on {url} in {timeout_s:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _settle(page: Any, view: str, figures: int = 1, timeout_ms: int = 120_000) -> None:
    """Wait until the view shows ``figures`` drawn plots and no callback runs."""
    page.wait_for_function(
        f"""() => Array.from(document.querySelectorAll('#view-{view} .js-plotly-plot'))
              .filter(g => g._fullLayout && g.querySelector('.main-svg')).length >= {figures}""",
        timeout=timeout_ms,
    )
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms)
    page.wait_for_timeout(1000)  # Plotly resizes a plot shown again on its tab
    page.evaluate("() => window.scrollTo(0, 0)")


def _save(page: Any, out: Path, name: str) -> list[Path]:
    """Save the window (``name.png``) and, where the page is taller, ``name-full.png``."""
    page.mouse.move(WIDTH - 3, HEIGHT - 3)  # off the plots: no hover label, no mode bar
    page.wait_for_timeout(300)
    saved = [out / f"{name}.png"]
    page.screenshot(path=str(saved[0]))
    height = int(page.evaluate("() => document.documentElement.scrollHeight"))
    full = out / f"{name}-full.png"
    if height > HEIGHT + 100:  # a few rows more are not worth an image
        page.screenshot(path=str(full), full_page=True)
        saved.append(full)
    elif full.exists():
        full.unlink()
    for path in saved:
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return saved


def _show_trial(page: Any, trial: int) -> None:
    page.click("#tab-design")
    page.fill("#trial-input", str(trial))
    page.press("#trial-input", "Enter")
    page.wait_for_selector(f"#detail-title:has-text('trial {trial}')")


def capture(url: str, out: Path, picks: Picks, chromium: str) -> list[Path]:
    """Open each view at 1400x900 and save its screenshots; return the files."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1
            )
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)

            page.wait_for_selector("#view-pareto .js-plotly-plot")
            _settle(page, "pareto")
            saved += _save(page, out, "pareto")
            page.click("#gpu-mode label:has-text('all')")
            page.click("#gpu-batches label:has-text('batch 16')")
            page.wait_for_function(
                "() => document.querySelector('#view-pareto .js-plotly-plot')"
                ".data.some(t => JSON.stringify(t).includes('16 sequences'))"
            )
            _settle(page, "pareto")
            saved += _save(page, out, "pareto-all-gpus")
            page.click("#gpu-mode label:has-text('fastest')")
            page.click("#gpu-batches label:has-text('batch 16')")
            page.wait_for_function(SETTLED_JS)

            _show_trial(page, picks.frugal)
            page.click("#detail-add")
            page.wait_for_selector("#detail-message:has-text('Compare (1)')")
            _show_trial(page, picks.fastest)
            page.click("#detail-add")
            page.wait_for_selector("#detail-message:has-text('Compare (2)')")
            _settle(page, "design", figures=3)
            page.click("#timeline-button")
            page.wait_for_selector("#timeline .js-plotly-plot", timeout=180_000)
            _settle(page, "design", figures=4)
            saved += _save(page, out, "design")

            page.click("#tab-compare")
            page.locator("#compare-table tbody tr").nth(2).wait_for()
            _settle(page, "compare")
            saved += _save(page, out, "compare")

            page.click("#tab-study")
            _settle(page, "study")
            page.click("#importance-button")
            page.wait_for_selector("#importance .js-plotly-plot", timeout=180_000)
            _settle(page, "study", figures=2)
            saved += _save(page, out, "study")

            page.click("#tab-export")
            page.wait_for_selector(f"#export-title:has-text('trial {picks.fastest}')")
            page.wait_for_function(
                "() => document.querySelector('#export-preview').textContent.length > 0"
            )
            page.wait_for_function(SETTLED_JS)
            page.wait_for_timeout(500)
            saved += _save(page, out, "export")
        finally:
            browser.close()
    if errors:
        raise SystemExit("the page raised errors:\n" + "\n".join(errors))
    return saved


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the study, serve the dashboard and save every view's screenshot."""
    args = _parse(argv)
    os.chdir(ROOT)
    ensure_study(args.storage, args.study, args.trials)
    picks = pick_designs(args.storage, args.study)
    print(f"designs shown: trial {picks.fastest} (fastest), trial {picks.frugal} (most frugal)")
    with serve(args.storage, args.study, args.port) as url:
        saved = capture(url, args.out.resolve(), picks, args.chromium)
    print(f"{len(saved)} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
