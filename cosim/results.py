"""Saving and loading a run's results with everything needed to reproduce it.

A results folder holds ``events.parquet`` (the tidy per-event frame), ``summary.json``
(headline figures), ``design.yaml`` (the resolved description, defaults filled in),
``device.json`` (the catalog entry with overrides applied) and ``run.json`` (seed,
versions, command, trace provenance). The folder is written under a temporary name and
renamed at the end, so a partly written result never survives; an existing folder is
replaced only with ``force``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from arch_models.spec.system import System
from cosim.errors import ResultsError
from cosim.run_result import SimResult
from cosim.system_result import SystemResult
from safeio import atomic_folder, dumps, recover_folder

__all__ = ["ResultsError", "SavedResult", "load_result", "save_result", "save_system_result"]


@dataclass(frozen=True)
class SavedResult:
    """A results folder read back."""

    frame: pd.DataFrame
    summary: dict[str, Any]
    design: dict[str, Any]
    run: dict[str, Any]


def save_result(
    result: SimResult, out: Path, *, force: bool = False, extra: dict[str, Any] | None = None
) -> Path:
    """Write a results folder atomically.

    Args:
        result: The run.
        out: Target folder.
        force: Replace an existing folder.
        extra: More provenance for ``run.json`` (e.g. the command line).

    Returns:
        The folder written.

    Raises:
        ResultsError: The folder exists (without ``force``) or cannot be written.
    """
    out = Path(out)
    recover_folder(out)  # a write killed mid-swap: its folder is back before we decide
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise ResultsError(f"{out} exists and is not empty; use --force to replace it")
    run = {
        "seed": result.summary.get("seed"),
        "versions": result.summary.get("versions"),
        "workload": result.workload_meta,
        "argv": sys.argv,
        **(extra or {}),
    }
    design = result.arch.spec.model_dump(mode="json")
    try:
        with atomic_folder(out) as tmp:
            result.frame.to_parquet(tmp / "events.parquet", index=False)
            (tmp / "summary.json").write_text(dumps(result.summary, sort_keys=True), "utf-8")
            (tmp / "design.yaml").write_text(
                yaml.safe_dump(design, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
            device = result.arch.device.model_dump(mode="json")
            (tmp / "device.json").write_text(dumps(device, sort_keys=True), "utf-8")
            (tmp / "run.json").write_text(dumps(run, sort_keys=True), "utf-8")
    except OSError as exc:
        raise ResultsError(f"cannot write results to {out}: {exc.strerror or exc}") from None
    return out


def load_result(folder: Path) -> SavedResult:
    """Read a results folder.

    Raises:
        ResultsError: A file is missing or unreadable.
    """
    folder = Path(folder)
    if not folder.exists():
        recover_folder(folder)
    try:
        frame = pd.read_parquet(folder / "events.parquet")
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        design = yaml.safe_load((folder / "design.yaml").read_text(encoding="utf-8"))
        run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ResultsError(f"{folder}: not a readable results folder ({exc})") from None
    return SavedResult(frame, summary, design, run)


def save_system_result(
    result: SystemResult, system: System, out: Path, *, force: bool = False
) -> Path:
    """Write a system's results folder atomically: summary, provenance, every description.

    ``summary.json`` (the ``--json`` keys), ``run.json`` (seed, versions, command line),
    ``system.yaml`` and ``cards/card<k>.yaml`` (each card's design as simulated).

    Raises:
        ResultsError: The folder exists (without ``force``) or cannot be written.
    """
    out = Path(out)
    recover_folder(out)
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise ResultsError(f"{out} exists and is not empty; use --force to replace it")
    run = {"seed": result.seed, "versions": dict(result.versions), "argv": sys.argv}
    try:
        with atomic_folder(out) as tmp:
            (tmp / "summary.json").write_text(dumps(result.summary, sort_keys=True), "utf-8")
            (tmp / "run.json").write_text(dumps(run, sort_keys=True), "utf-8")
            spec = system.spec.model_dump(mode="json")
            (tmp / "system.yaml").write_text(
                yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
            (tmp / "cards").mkdir()
            for k, arch in enumerate(system.cards):
                design = arch.spec.model_dump(mode="json")
                (tmp / "cards" / f"card{k}.yaml").write_text(
                    yaml.safe_dump(design, sort_keys=False, allow_unicode=True), encoding="utf-8"
                )
    except OSError as exc:
        raise ResultsError(f"cannot write results to {out}: {exc.strerror or exc}") from None
    return out
