"""A viewer reads the study it was given and nothing else, writes nothing, and is bounded.

- what a study stores is data: a ``model`` that names a local file is never opened (a
  replay uses a built-in model, a configuration named on the command line, or the
  study's cached trace) and nothing is written into the cache;
- the ``Host`` header must name this server (no DNS rebinding);
- study names sent by a browser do not stay in memory; real studies are kept, at most
  :data:`~dashboards.data.KEEP_STUDIES`;
- a storage is opened read-only: an empty file, or a database that is not Optuna's, is
  refused and left as it was, and a study's file is not changed by viewing it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest

from dashboards import callbacks
from dashboards.app import host_allowed, split_host
from dashboards.data import KEEP_STUDIES, Notice
from dashboards.state import Dashboard, DashboardConfig
from explorer import ExplorerError, load_study
from tests.dashboards.conftest import STUDY

#: Files opened while :data:`_WATCH` names them (an audit hook sees every ``open``).
_OPENED: list[str] = []
_WATCH: set[str] = set()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _WATCH and args and str(args[0]) in _WATCH:
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


def _set_model(db: Path, model: str) -> None:
    optuna.load_study(study_name=STUDY, storage=f"sqlite:///{db}").set_user_attr("model", model)


def _feasible(board: Dashboard) -> int:
    snap: Any = board.snapshot(STUDY)
    return int(snap.table.loc[snap.table["status"] == "feasible", "trial"].iloc[0])


def _timeline(board: Dashboard) -> str:
    return str(callbacks.on_timeline(board, STUDY, f"trial:{_feasible(board)}", "png", True))


def test_a_stored_model_path_is_never_opened(study_copy: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"model_type": "hgrn_bit", "hidden_size": "TOP-SECRET-4711"}))
    _set_model(study_copy, str(secret))
    cache = study_copy.with_name("study.db.cache")
    shutil.rmtree(cache / "traces")
    board = Dashboard(DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[]))
    _WATCH.add(str(secret))
    try:
        shown = _timeline(board)
    finally:
        _WATCH.clear()
    assert _OPENED == []
    assert "TOP-SECRET" not in shown
    assert "is not a built-in model" in shown and "--model-config" in shown
    assert not (cache / "traces").exists()  # a viewer writes no cache


def test_replays_use_built_in_models_and_configs_named_on_the_command_line(
    study_copy: Path, tmp_path: Path
) -> None:
    from workloads.config import config_to_hf, get_config

    cache = study_copy.with_name("study.db.cache")
    shutil.rmtree(cache / "traces")
    board = Dashboard(DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[]))
    assert "timeline-units" in _timeline(board)  # tiny: built in, made in memory
    mine = tmp_path / "mine" / "config.json"
    mine.parent.mkdir()
    mine.write_text(json.dumps(config_to_hf(get_config("tiny"))))
    _set_model(study_copy, str(mine))
    given = Dashboard(
        DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[], model_configs=[mine])
    )
    assert "timeline-units" in _timeline(given)
    assert not (cache / "traces").exists()


def _get(url: str, host: str, path: str = "/") -> int:
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_host_header_must_name_this_server(study_db: Path, serve: Any) -> None:
    config = DashboardConfig(
        storage=str(study_db), study=STUDY, baselines=[], allowed_hosts=["dash.lan"]
    )
    url = serve(config)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"DASH.lan:{port}"):
        assert _get(url, host) == 200, host
    for host in (
        f"evil.example:{port}",  # a rebinding page's own name
        f"localhost:{port + 1}",
        "127.0.0.1",
        f"127.0.0.1.evil.example:{port}",
        "",
        f"localhost:{port}:1",
        f"[::1:{port}",
    ):
        assert _get(url, host) == 400, host
        assert _get(url, host, "/_dash-layout") == 400, host


def test_host_rules() -> None:
    assert split_host("[::1]:8050") == ("::1", 8050)
    assert split_host("LocalHost") == ("localhost", None)
    assert split_host("a:b") is None and split_host("x:99999") is None
    names = frozenset({"127.0.0.1", "localhost", "::1"})
    assert host_allowed("localhost:80", 80, names) and host_allowed("localhost", 80, names)
    assert not host_allowed("localhost", 8050, names)
    assert host_allowed("localhost:1234", None, names)  # before the port is known
    # served on every interface: an address may be used, a name only if it was given
    assert host_allowed("192.168.1.7:8050", 8050, names, any_address=True)
    assert not host_allowed("rebind.example:8050", 8050, names, any_address=True)


def test_study_names_from_a_browser_are_not_kept(study_copy: Path) -> None:
    storage = f"sqlite:///{study_copy}"
    for i in range(KEEP_STUDIES + 3):
        optuna.create_study(study_name=f"extra{i}", storage=storage).set_user_attr(
            "explorer_format", 1
        )
    board = Dashboard(DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[]))
    for i in range(300):
        got = board.snapshot(f"no-such-study-{i}")
        assert isinstance(got, Notice) and got.title.startswith("No study 'no-such-study-")
    assert len(board.catalog._sources) == 0
    for name in [STUDY, *(f"extra{i}" for i in range(KEEP_STUDIES + 3))]:
        assert not isinstance(board.snapshot(name), Notice)
    assert len(board.catalog._sources) == KEEP_STUDIES
    assert STUDY not in board.catalog._sources  # the least recently used went first
    assert not isinstance(board.snapshot(STUDY), Notice)  # read again when asked


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_viewer_never_writes_a_storage(study_copy: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    board = Dashboard(DashboardConfig(storage=str(empty), study="s", baselines=[]))
    notice = board.snapshot("s")
    assert isinstance(notice, Notice) and "is empty" in notice.detail
    assert board.catalog.names() == []
    with pytest.raises(ExplorerError, match="is empty"):
        load_study(empty, "s")  # cosim pareto and cosim export read the same way
    assert empty.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == [
        "empty.db",
        "study.db",
        "study.db.cache",
    ]

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE notes (body TEXT)")
    before = _digest(other)
    notice = Dashboard(DashboardConfig(storage=str(other), study="s", baselines=[])).snapshot("s")
    assert isinstance(notice, Notice) and "without Optuna's tables" in notice.detail
    assert _digest(other) == before

    before = _digest(study_copy)
    board = Dashboard(DashboardConfig(storage=str(study_copy), study=STUDY, baselines=[]))
    trial = _feasible(board)
    board.refresh(STUDY)
    board.importance(STUDY)
    assert callbacks.on_export(board, STUDY, f"trial:{trial}", "all")[0] is not callbacks.no_update
    assert "timeline-units" in _timeline(board)
    assert _digest(study_copy) == before
