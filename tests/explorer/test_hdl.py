"""The HDL literal formatters: one table of literals, refusals, an exact inverse."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from explorer._hdl import (
    hdl_identifier,
    parse_verilog_literal,
    sv_type,
    tcl_word,
    verilog_literal,
)


@pytest.mark.parametrize(
    ("value", "literal", "typ"),
    [
        (True, "1'b1", "bit"),
        (False, "1'b0", "bit"),
        (64, "64", "int"),
        (-3, "-3", "int"),
        (2**31 - 1, "2147483647", "int"),
        (2**31, "64'sd2147483648", "longint"),
        (-(2**40), "-64'sd1099511627776", "longint"),
        (250.0, "250.0", "real"),
        (1.6, "1.6", "real"),
        (1e-7, "1e-07", "real"),
        ("5trit", '"5trit"', "string"),
        ('a"b\\c', '"a\\"b\\\\c"', "string"),
    ],
)
def test_literal_table(value: object, literal: str, typ: str) -> None:
    assert verilog_literal(value) == literal
    assert sv_type(value) == typ
    assert parse_verilog_literal(literal) == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (2**64, ValueError),
        ("tab\there", ValueError),
        ("µ", ValueError),
        (None, TypeError),
        ([1], TypeError),
        (b"x", TypeError),
    ],
)
def test_refuses_what_no_literal_carries(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        verilog_literal(value)


@given(
    st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    )
)
def test_parse_is_the_exact_inverse(value: object) -> None:
    back = parse_verilog_literal(verilog_literal(value))
    assert back == value and type(back) is type(value)


def test_tcl_words_and_identifiers() -> None:
    assert tcl_word("64") == "64"
    assert tcl_word("1'b1") == "1'b1"
    assert tcl_word('"5trit"') == '{"5trit"}'
    with pytest.raises(ValueError):
        tcl_word('"a{b"')
    assert hdl_identifier("u280-hbm-16core", "_pkg") == "u280_hbm_16core_pkg"
    assert hdl_identifier("1core") == "d_1core"
    assert hdl_identifier("..") == "design"
