"""A fast read of a study's trials from an Optuna RDB storage (SQLite, PostgreSQL).

Optuna's ``get_all_trials`` builds a full ``FrozenTrial`` per trial through the ORM: on
this machine about 2 ms a trial, 20 s for a 10,000-trial study. The table the dashboard
draws needs four user attributes per trial (``status``, ``reason``, ``summary``,
``params_by_path``), its state and its ``retry_history``. This module selects just
those with SQLAlchemy Core over Optuna's own table definitions (the installed Optuna's
models, so the column names are never spelled here), about 1 s for 10,000 trials.
Anything unexpected (another schema, another storage) raises, and the caller falls back to
Optuna's API; a test checks that both give the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from dashboards.data import FIGURE_COLUMNS

__all__ = [
    "ROW_ATTRS",
    "SUMMARY_FIELDS",
    "TrialHead",
    "rdb_of",
    "read_attrs",
    "read_complete",
    "read_heads",
    "supports",
]

#: The trial user attributes the table is made from.
ROW_ATTRS = ("status", "reason", "summary", "params_by_path")

_CHUNK = 500

TrialHead = tuple[int, int, str]
"""``(trial_id, number, state name)``."""


def rdb_of(storage: Any) -> Any:
    """Return the RDB storage under ``storage`` (Optuna's cache wraps it), or ``None``."""
    from optuna.storages import RDBStorage

    inner = getattr(storage, "_backend", storage)
    return inner if isinstance(inner, RDBStorage) and hasattr(inner, "engine") else None


def supports(storage: Any) -> bool:
    """Return whether ``storage`` is (or wraps) an Optuna RDB storage this module can read."""
    return rdb_of(storage) is not None


def _models() -> Any:
    from optuna.storages._rdb import models

    return models


def read_heads(storage: Any, study_id: int) -> list[TrialHead]:
    """Return ``(trial_id, number, state)`` of every trial of the study."""
    from sqlalchemy import select

    trials = _models().TrialModel.__table__
    stmt = select(trials.c.trial_id, trials.c.number, trials.c.state).where(
        trials.c.study_id == study_id
    )
    with rdb_of(storage).engine.connect() as conn:
        return [(int(i), int(n), _state_name(s)) for i, n, s in conn.execute(stmt)]


def _state_name(state: Any) -> str:
    return str(getattr(state, "name", state))


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


#: Summary fields a row needs (SQLite extracts just these; other databases send it all).
SUMMARY_FIELDS = (*FIGURE_COLUMNS, "bottleneck", "fits", "resources")


def read_attrs(
    storage: Any, study_id: int, trial_ids: Iterable[int] | None = None
) -> tuple[dict[int, dict[str, Any]], dict[int, list[int]]]:
    """Return the row attributes and retry histories of trials.

    On SQLite the summary is cut down to :data:`SUMMARY_FIELDS` by the database
    (``json_extract``), which saves decoding the rest of it in Python.

    Args:
        storage: An RDB storage.
        study_id: The study's id.
        trial_ids: The trials to read (``None``: every trial of the study).

    Returns:
        ``trial_id → {key: value}`` for the keys of :data:`ROW_ATTRS`, and
        ``trial_id → retry_history`` for trials that have one.
    """
    from sqlalchemy import func, literal, select

    rdb = rdb_of(storage)
    models = _models()
    trials = models.TrialModel.__table__
    user = models.TrialUserAttributeModel.__table__
    system = models.TrialSystemAttributeModel.__table__
    sqlite = rdb.engine.dialect.name == "sqlite"
    attrs: dict[int, dict[str, Any]] = {}
    retries: dict[int, list[int]] = {}

    def scoped(stmt: Any, table: Any, ids: Sequence[int] | None) -> Any:
        if ids is None:
            return stmt.join(trials, trials.c.trial_id == table.c.trial_id).where(
                trials.c.study_id == study_id
            )
        return stmt.where(table.c.trial_id.in_(ids))

    small = [k for k in ROW_ATTRS if k != "summary"]
    summary_value = (
        func.json_extract(user.c.value_json, *[literal(f"$.{f}") for f in SUMMARY_FIELDS])
        if sqlite
        else user.c.value_json
    )
    batches: list[Sequence[int] | None]
    batches = [None] if trial_ids is None else list(_chunks(sorted(set(trial_ids))))
    loads = json.loads
    with rdb.engine.connect() as conn:
        for ids in batches:
            stmt = select(user.c.trial_id, user.c.key, user.c.value_json).where(
                user.c.key.in_(small)
            )
            for trial_id, key, value in conn.execute(scoped(stmt, user, ids)):
                attrs.setdefault(int(trial_id), {})[key] = loads(value)
            stmt = select(user.c.trial_id, summary_value).where(user.c.key == "summary")
            for trial_id, value in conn.execute(scoped(stmt, user, ids)):
                got = loads(value) if value is not None else None
                if sqlite and isinstance(got, list):
                    got = dict(zip(SUMMARY_FIELDS, got, strict=False))
                    got = {k: v for k, v in got.items() if v is not None}
                attrs.setdefault(int(trial_id), {})["summary"] = got or {}
            stmt = select(system.c.trial_id, system.c.value_json).where(
                system.c.key == "retry_history"
            )
            for trial_id, value in conn.execute(scoped(stmt, system, ids)):
                retries[int(trial_id)] = [int(n) for n in loads(value) or []]
    return attrs, retries


def read_complete(storage: Any, trial_ids: Sequence[int]) -> list[Any]:
    """Return complete trials with their parameters and values only (for importances).

    Args:
        storage: An RDB storage.
        trial_ids: Trials to read (complete ones).

    Returns:
        ``FrozenTrial`` objects (``optuna.trial.create_trial``), by trial id.
    """
    from optuna.distributions import json_to_distribution
    from optuna.trial import TrialState, create_trial
    from sqlalchemy import select

    rdb = rdb_of(storage)
    models = _models()
    params = models.TrialParamModel.__table__
    values = models.TrialValueModel.__table__
    value_of = models.TrialValueModel.stored_repr_to_value
    dists: dict[str, Any] = {}
    got_params: dict[int, dict[str, Any]] = {}
    got_dists: dict[int, dict[str, Any]] = {}
    got_values: dict[int, dict[int, float]] = {}
    with rdb.engine.connect() as conn:
        for ids in _chunks(sorted(set(trial_ids))):
            stmt = select(
                params.c.trial_id,
                params.c.param_name,
                params.c.param_value,
                params.c.distribution_json,
            ).where(params.c.trial_id.in_(ids))
            for tid, name, value, dist_json in conn.execute(stmt):
                if dist_json not in dists:
                    dists[dist_json] = json_to_distribution(dist_json)
                dist = dists[dist_json]
                got_params.setdefault(int(tid), {})[name] = dist.to_external_repr(value)
                got_dists.setdefault(int(tid), {})[name] = dist
            stmt = select(
                values.c.trial_id, values.c.objective, values.c.value, values.c.value_type
            ).where(values.c.trial_id.in_(ids))
            for tid, objective, value, value_type in conn.execute(stmt):
                got_values.setdefault(int(tid), {})[int(objective)] = value_of(value, value_type)
    out = []
    for tid in sorted(got_values):
        vals = got_values[tid]
        out.append(
            create_trial(
                state=TrialState.COMPLETE,
                values=[vals[k] for k in sorted(vals)],
                params=got_params.get(tid, {}),
                distributions=got_dists.get(tid, {}),
            )
        )
    return out
