"""The base of every description model, and the bridge from pydantic errors to problems.

All description models (architecture blocks, catalog entries, search spaces) derive from
:class:`SpecModel`: frozen, strict (``"8"`` is not an integer), no unknown keys, no
infinities. :func:`validate_document` validates a parsed :class:`Document` against such a
model and turns every pydantic error into a :class:`Problem` at the right file line, in the
tool's one message style (``must be ... (got ...)``), including "did you mean" for unknown
keys and the list of known kinds for an unknown ``kind``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from arch_models.validation.errors import MAX_PROBLEMS, SpecError
from arch_models.validation.source import Document, PathT

__all__ = ["SpecModel", "describe_value", "is_power_of_two", "validate_document"]

M = TypeVar("M", bound=BaseModel)


class SpecModel(BaseModel):
    """Base for every description model: frozen, strict, closed."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        validate_default=True,
    )


def is_power_of_two(n: int) -> bool:
    """Return whether ``n`` is a positive power of two."""
    return n > 0 and n & (n - 1) == 0


def describe_value(value: Any, limit: int = 40) -> str:
    """Render a value for a message: short, YAML-ish, never multi-line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = f"a list of {len(value)}"
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(data: Any, loc: Sequence[str | int]) -> tuple[PathT, bool]:
    """Map a pydantic ``loc`` onto a path in the data, skipping union tags and wrappers.

    Returns the path and whether the final element exists in the data.
    """
    path: list[str | int] = []
    cur = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, Mapping) and isinstance(part, str) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
        elif last:
            path.append(part)
            return tuple(path), False
        # otherwise: a union tag or validator wrapper in pydantic's loc; skip it
    return tuple(path), True


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` from a type annotation.

    An ``Annotated`` type whose metadata has ``union_members()`` (a union built from a
    registry, such as a description's blocks) stands for the union of those members.
    """
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            meta = typing.get_args(tp)
            registry = next((m for m in meta[1:] if hasattr(m, "union_members")), None)
            tp = typing.Union[tuple(registry.union_members())] if registry else meta[0]  # noqa: UP007
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """Return the model class that holds the last element of ``loc`` (for key suggestions)."""
    tp: Any = model
    for part in loc[:-1]:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif origin in (list, tuple, Sequence) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin in (dict, Mapping):
            tp = typing.get_args(tp)[1]
        elif origin in (typing.Union, types.UnionType):
            tp = _union_member(tp, part)
            if tp is None:
                return None
        else:
            return None
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _union_member(tp: Any, tag: str | int) -> Any:
    for member in typing.get_args(tp):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            kind = member.model_fields.get("kind")
            if kind is not None and tag in typing.get_args(_unwrap(kind.annotation)):
                return member
    return None


def _message(err: ErrorDetails, model: type[BaseModel], exists: bool) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    got = f" (got {describe_value(err.get('input'))})"
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        holder = _model_at(model, err["loc"])
        key = str(err["loc"][-1])
        if holder is None:
            return "unknown key"
        known = sorted(holder.model_fields)
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:
            return f"unknown key (did you mean '{close[0]}'?)"
        return "unknown key; allowed: " + ", ".join(known)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer" + got
    if kind in ("float_type", "float_parsing"):
        return "must be a number" + got
    if kind == "finite_number":
        return "must be a finite number" + got
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if kind == "string_type":
        return "must be a string" + got
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        return "must be a mapping" + got
    if kind in ("list_type", "tuple_type"):
        return "must be a list" + got
    bounds = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {describe_value(limit)}" + got
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')}" + got
    if kind == "union_tag_invalid":
        field = str(ctx.get("discriminator", "kind")).strip("'")
        tag = str(ctx.get("tag"))
        known = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(tag, known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown {field} {tag!r}{hint}; known: {', '.join(sorted(known))}"
    if kind == "union_tag_not_found":
        return "required field missing"
    if kind in ("too_short", "string_too_short"):
        return f"must have at least {ctx.get('min_length')} item(s)" + got
    if kind in ("too_long", "string_too_long"):
        return f"must have at most {ctx.get('max_length')} item(s)" + got
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}" + got
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        text = str(error) if error is not None else err["msg"]
        return text.removeprefix("Value error, ")
    text = err["msg"]
    return text[:1].lower() + text[1:] + got


def validate_document(
    model: type[M],
    doc: Document,
    *,
    context: dict[str, Any] | None = None,
    data: Any = None,
) -> M:
    """Validate a document against a model, raising one error with every problem.

    Args:
        model: The pydantic model class (normally a :class:`SpecModel`).
        doc: The parsed document (for the data and line numbers).
        context: Passed to pydantic validators as ``info.context``.
        data: Validate this instead of ``doc.data`` (same paths, e.g. with defaults
            merged in).

    Returns:
        The validated, frozen object.

    Raises:
        SpecError: Listing every problem with file:line and dotted path.
    """
    payload = doc.data if data is None else data
    if not isinstance(payload, dict):
        got = describe_value(payload)
        raise SpecError([doc.problem((), f"must be a mapping at the top level (got {got})")])
    try:
        return model.model_validate(payload, context=context)
    except ValidationError as exc:
        problems = []
        errors = exc.errors(include_url=False)
        for err in errors[:MAX_PROBLEMS]:
            path, exists = _walk(payload, err["loc"])
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                field = str((err.get("ctx") or {}).get("discriminator", "kind")).strip("'")
                path = (*path, field)
            problems.append(doc.problem(path, _message(err, model, exists)))
        raise SpecError(problems, more=max(0, len(errors) - MAX_PROBLEMS)) from None
