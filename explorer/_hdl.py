"""The one set of HDL literal formatters every exporter goes through.

A parameter value is a Python ``bool``, ``int``, ``float`` or ``str``; anything else (and a
non-finite float, or a string a Verilog literal cannot carry) is refused with a
``TypeError``/``ValueError`` rather than written wrongly:

============  ==================  ===============
Python        Verilog literal     SV type
============  ==================  ===============
``True``      ``1'b1``            ``bit``
``64``        ``64``              ``int``
``2**40``     ``64'sd1099511627776``  ``longint``
``250.0``     ``250.0``           ``real``
``"5trit"``   ``"5trit"``         ``string``
============  ==================  ===============

:func:`sv_param_type` is the type a package or module declares such a parameter with:
:func:`sv_type`'s, except that a string is declared untyped (``localparam NAME = "5trit"``,
as ``tmac_core`` declares ``WEIGHT_PACKING``), since Yosys 0.23 and Icarus 11 reject
``string`` parameters. :func:`tcl_word` quotes a literal as one Tcl word;
:func:`parse_verilog_literal` is the exact inverse of :func:`verilog_literal`, so files can
be read back and compared.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "HdlValue",
    "hdl_identifier",
    "parse_verilog_literal",
    "sv_param_type",
    "sv_type",
    "tcl_word",
    "verilog_literal",
]

HdlValue = bool | int | float | str

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
_BARE_TCL = re.compile(r"^[A-Za-z0-9_.'+-]+$")
_SIZED = re.compile(r"^(-?)64'sd(\d+)$")
_INT = re.compile(r"^-?\d+$")
_REAL = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")


def _check(value: object) -> HdlValue:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"an HDL parameter must be finite (got {value})")
        return value
    raise TypeError(
        f"cannot format {type(value).__name__} as an HDL literal; supported: bool, int, float, str"
    )


def sv_type(value: object) -> str:
    """Return the SystemVerilog type of a parameter holding ``value``.

    Raises:
        TypeError: For an unsupported type.
        ValueError: For an integer beyond 64 bits or a non-finite float.
    """
    v = _check(value)
    if isinstance(v, bool):
        return "bit"
    if isinstance(v, int):
        if _INT32[0] <= v <= _INT32[1]:
            return "int"
        if _INT64[0] <= v <= _INT64[1]:
            return "longint"
        raise ValueError(f"an HDL integer parameter must fit 64 bits (got {v})")
    if isinstance(v, float):
        return "real"
    return "string"


def sv_param_type(value: object) -> str:
    """Return the type to declare a parameter holding ``value`` with ('' for a string).

    Raises:
        TypeError: For an unsupported type.
        ValueError: For an integer beyond 64 bits or a non-finite float.
    """
    kind = sv_type(value)
    return "" if kind == "string" else kind


def verilog_literal(value: object) -> str:
    """Format ``value`` as a Verilog/SystemVerilog literal (see the module's table).

    Raises:
        TypeError: For an unsupported type.
        ValueError: For a value no literal can carry (non-finite, > 64 bits, a string with
            non-printable or non-ASCII characters).
    """
    v = _check(value)
    kind = sv_type(v)
    if isinstance(v, bool):
        return "1'b1" if v else "1'b0"
    if isinstance(v, int):
        if kind == "int":
            return str(v)
        return f"{'-' if v < 0 else ''}64'sd{abs(v)}"
    if isinstance(v, float):
        text = repr(v)
        return text if ("." in text or "e" in text) else text + ".0"
    if not _PRINTABLE.match(v):
        raise ValueError(f"an HDL string parameter must be printable ASCII (got {v!r})")
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_verilog_literal(text: str) -> HdlValue:
    """Read back a literal written by :func:`verilog_literal`.

    Raises:
        ValueError: The text is not such a literal.
    """
    if text in ("1'b1", "1'b0"):
        return text == "1'b1"
    m = _SIZED.match(text)
    if m:
        return -int(m.group(2)) if m.group(1) else int(m.group(2))
    if _INT.match(text):
        return int(text)
    if _REAL.match(text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        body, out, i = text[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                out.append(body[i + 1])
                i += 2
            else:
                out.append(body[i])
                i += 1
        return "".join(out)
    raise ValueError(f"not a literal this tool writes: {text!r}")


def tcl_word(literal: str) -> str:
    """Quote a literal as a single Tcl word (bare when safe, else in braces).

    Raises:
        ValueError: The literal holds braces or backslashes (never produced for values
            this tool exports; refused rather than quoted wrongly).
    """
    if _BARE_TCL.match(literal):
        return literal
    if any(c in literal for c in "{}\\"):
        raise ValueError(f"cannot quote {literal!r} as a Tcl word")
    return "{" + literal + "}"


def hdl_identifier(name: str, suffix: str = "") -> str:
    """Turn a design name into an HDL identifier (``u280-hbm-16core`` → ``u280_hbm_16core``).

    Args:
        name: Any text.
        suffix: Appended as is (e.g. ``_pkg``).

    Returns:
        Letters, digits and underscores, starting with a letter.
    """
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "design"
    if not ident[0].isalpha():
        ident = "d_" + ident
    return ident + suffix
