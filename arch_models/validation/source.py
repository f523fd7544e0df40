"""YAML documents that remember where every value came from.

Every description the tool reads (architecture files, device catalog entries, search
spaces) goes through :func:`read_yaml`. It parses with PyYAML's *safe* composer only
(no Python object tags), turns the node tree into plain ``dict``/``list``/scalar data, and
records the source line of every mapping key and sequence item by its path, so a
validation problem can be reported as ``file.yaml:42 units[2].lanes: ...``.

Paths are tuples of keys and list indices, e.g. ``("units", 2, "lanes")``; they are printed
with :func:`format_path`. Anything that is not a well-formed YAML mapping (garbage bytes,
duplicate keys, non-string keys, recursive aliases, absurd nesting) is refused with a
:class:`~arch_models.validation.errors.SpecError` that names the file and line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from arch_models.validation.errors import Problem, SpecError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "Document",
    "format_path",
    "parse_yaml",
    "read_yaml",
]

PathT = tuple[str | int, ...]
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

#: Deeper nesting than this is refused (no description needs more than a handful).
MAX_DEPTH = 64
#: Larger files are refused before reading (a description is a few KiB).
MAX_BYTES = 4 * 1024 * 1024
#: Values (scalars, lists, mappings) a document may expand to, aliases counted at each use
#: (a description has a few thousand; an "alias bomb" of a few lines has billions).
MAX_VALUES = 200_000


def format_path(path: Sequence[str | int]) -> str:
    """Format a path tuple as a dotted path with list indices in brackets.

    Args:
        path: Keys and indices, outermost first.

    Returns:
        For example ``units[2].lanes``; ``<root>`` for the empty path.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(part):
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out or "<root>"


@dataclass(frozen=True)
class Document:
    """A parsed YAML document with the line of every value.

    Attributes:
        data: The plain Python data (dicts, lists, str, int, float, bool, None).
        filename: The name used in messages (the file's name, not its full path).
        lines: 1-based line of each path (a mapping key's line for mapping values).
    """

    data: Any
    filename: str
    lines: dict[PathT, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int:
        """Return the line of ``path``, or of its nearest ancestor that has one.

        Args:
            path: Keys and indices, outermost first.

        Returns:
            A 1-based line number (1 when nothing better is known).
        """
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        """Build a :class:`Problem` located at ``path`` in this document."""
        return Problem(self.filename, self.line_of(path), format_path(path), message)


class _Builder:
    """Turns a composed node tree into plain data, recording lines by path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[PathT, int] = {}
        self._active: set[int] = set()
        self._constructor = yaml.SafeLoader("")
        self.values = 0

    def fail(self, node: yaml.Node, path: PathT, message: str) -> SpecError:
        return SpecError(
            [Problem(self.filename, node.start_mark.line + 1, format_path(path), message)]
        )

    def build(self, node: yaml.Node, path: PathT) -> Any:
        if len(path) > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels")
        if id(node) in self._active:
            raise self.fail(node, path, "recursive alias")
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(
                node, path, f"more than {MAX_VALUES:,} values (aliases counted at each use)"
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
        raise self.fail(node, path, f"unsupported YAML node {type(node).__name__}")

    def _scalar(self, node: yaml.ScalarNode, path: PathT) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except Exception as exc:
            # an explicit tag whose text is no such value (``!!int x``, ``!!bool maybe``,
            # ``!!timestamp x``, ``!!int ""``): the constructor is a parser of the file's text
            tag = node.tag.rsplit(":", 1)[-1]
            raise self.fail(
                node, path, f"bad scalar {node.value[:40]!r} for tag !!{tag}: {_one_line(exc)}"
            ) from None

    def _mapping(self, node: yaml.MappingNode, path: PathT) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in _merged_pairs(node):
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, path, f"keys must be strings (got {key!r})")
            if key in out:
                raise self.fail(key_node, (*path, key), "duplicate key")
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, key))
        return out


#: LibYAML's safe composer where PyYAML was built with it (4x faster), else PyYAML's own.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


def _merged_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """Return a mapping's key/value pairs with YAML merge keys (``<<``) expanded."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for src in sources:
                if isinstance(src, yaml.MappingNode):
                    merged.extend(_merged_pairs(src))
        else:
            pairs.append((key_node, value_node))
    own = {k.value for k, _ in pairs if isinstance(k, yaml.ScalarNode)}
    return [(k, v) for k, v in merged if k.value not in own] + pairs


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def _compose(text: str) -> yaml.Node | None:
    """Compose with LibYAML; a file it refuses is composed again by PyYAML for its message.

    The two parsers word their errors differently; PyYAML's are the ones reported, so a
    message does not depend on how PyYAML was built.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
        node = yaml.compose(text, Loader=yaml.SafeLoader)  # raises, with PyYAML's message
    return node


def parse_yaml(text: str | bytes, filename: str) -> Document:
    """Parse YAML text into a :class:`Document`.

    Args:
        text: The file's contents.
        filename: The name to use in messages.

    Returns:
        The document; an empty file gives ``data=None``.

    Raises:
        SpecError: The text is not valid UTF-8 YAML of supported shape.
    """
    if isinstance(text, bytes):
        raw = text
        if len(raw) > MAX_BYTES:
            raise SpecError([Problem(filename, 1, "<root>", f"file larger than {MAX_BYTES} bytes")])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise SpecError(
                [Problem(filename, line, "<root>", f"not UTF-8 text (byte {exc.start})")]
            ) from None
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise SpecError(
            [Problem(filename, line, "<root>", f"not valid YAML: {exc.problem}")]
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise SpecError(
            [Problem(filename, 1, "<root>", f"not valid YAML: {_one_line(exc)}")]
        ) from None
    if node is None:
        return Document(None, filename, {(): 1})
    builder = _Builder(filename)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise SpecError([Problem(filename, 1, "<root>", "nesting too deep")]) from None
    return Document(data, filename, builder.lines)


def read_yaml(path: str | Path) -> Document:
    """Read and parse a YAML file.

    Args:
        path: The file to read.

    Returns:
        The parsed document, named by the file's name in messages.

    Raises:
        SpecError: The file cannot be read or parsed.
    """
    p = Path(path)

    def refuse(message: str) -> SpecError:
        return SpecError([Problem(p.name, 0, "<root>", message)])

    try:
        # Open without blocking (a FIFO would wait for a writer), then look at what it is:
        # only a regular file is read, and no more of it than the limit.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file (a folder, device, FIFO or socket)")
        if info.st_size > MAX_BYTES:
            raise refuse(f"file larger than {MAX_BYTES} bytes ({info.st_size})")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from None
    finally:
        os.close(fd)
    return parse_yaml(raw, p.name)
