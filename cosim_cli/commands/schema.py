"""``cosim schema``: the JSON Schema of the architecture description format.

Point an editor's YAML language server at it for completion and inline checks. The
schema covers field names, types, ranges and choices; rules that need the device catalog
or several blocks (channels the device has, buffers versus tiles) are checked by
``cosim validate`` only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from arch_models.spec.jsonschema import arch_json_schema
from cosim_cli.errors import CliInputError

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    """Add the ``schema`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "schema",
        help="print the JSON Schema of architecture descriptions",
        description="Print (or write) the JSON Schema of the architecture description "
        "format, for an editor's YAML completion; rules across blocks and the device "
        "catalog are checked by cosim validate only.",
    )
    p.add_argument("--out", type=Path, help="write to this file instead of standard output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    text = json.dumps(arch_json_schema(), indent=2) + "\n"
    if args.out is None:
        print(text, end="")
        return 0
    try:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.out)
    except OSError as exc:
        raise CliInputError(f"cannot write {args.out}: {exc.strerror}") from None
    return 0
