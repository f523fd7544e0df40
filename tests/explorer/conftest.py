"""Fixtures of the explorer tests: small spaces, a throwaway PostgreSQL server.

The PostgreSQL server follows ../shared/RECIPES.md: ``initdb`` into a temporary folder,
``pg_ctl start`` on a free local port with ``fsync=off``, one database per test. Tests
that need it skip (saying why) only when PostgreSQL or its Python driver is absent.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

DATA = Path(__file__).parent / "data"
U280 = EXAMPLES / "u280_hbm.yaml"
D5005 = EXAMPLES / "d5005_paper_core.yaml"

#: A small space over the U280 design (3 x 2 x 2 x 2 = 24 designs); with the tiny model a
#: trial takes a few tenths of a second.
SMALL_SPACE = """\
version: 1
name: small
parameters:
  layout.cores: {choices: [4, 8, 16]}
  tmac.lanes: {choices: [32, 64]}
  wbuf.double_buffered: {choices: [true, false]}
  clock_mhz: {choices: [200.0, 300.0]}
"""


@pytest.fixture
def small_space(tmp_path: Path) -> Path:
    path = tmp_path / "small_space.yaml"
    path.write_text(SMALL_SPACE)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    dirs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name or 0)
    )
    for d in reversed(dirs):
        if (Path(d) / "initdb").is_file():
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[Path, int, str]]:
    """A PostgreSQL server for the session: (bin folder, port, socket folder)."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("the psycopg driver is not installed (pip install 'psycopg[binary]')")
    root = Path(tempfile.mkdtemp(prefix="cosim-pg-"))
    as_pg: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = root / "data"
    subprocess.run(
        [*as_pg, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "-E", "UTF8", "--no-locale"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
         "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield bindir, port, str(root)
    finally:
        subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


_db_numbers = itertools.count()


@pytest.fixture
def pg_url(pg_server: tuple[Path, int, str]) -> Iterator[str]:
    """A fresh, empty database on the session's server."""
    bindir, port, _ = pg_server
    name = f"optuna_{os.getpid()}_{next(_db_numbers)}"
    subprocess.run(
        [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name],
        check=True, capture_output=True,
    )  # fmt: skip
    yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"
    with contextlib.suppress(Exception):
        subprocess.run(
            [str(bindir / "dropdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "--force", name],
            check=False, capture_output=True, timeout=30,
        )  # fmt: skip
