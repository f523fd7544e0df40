"""Hardware numerics as parameters: formats, function approximations, their round trips."""

from __future__ import annotations

import numpy as np
import pytest

from workloads.approx import exact_sigmoid, sigmoid, silu
from workloads.numerics import ElementFormat, FunctionApprox, Numerics


def test_element_format_parse_and_apply() -> None:
    for text in ("float32", "float64", "fixed16.8", "fixed8.0"):
        assert str(ElementFormat.parse(text)) == text
    fx = ElementFormat.parse("fixed8.4")
    assert fx.bytes == 1 and ElementFormat.parse("fixed12.6").bytes == 2
    x = np.array([0.03, 0.04, -0.09, 100.0, -100.0, 1.53125])
    # step 1/16; range [-8, 8 - 1/16]; round to nearest (ties to even)
    assert fx.apply(x).tolist() == [0.0, 0.0625, -0.0625, 7.9375, -8.0, 1.5]
    assert ElementFormat().apply(x).dtype == np.float32
    for bad in ("fixed16", "float16", "fixed4.4", "fixed64.2"):
        with pytest.raises(ValueError):
            ElementFormat.parse(bad)


def test_function_approx_parse() -> None:
    for text in ("exact", "lut:256@8", "pwl:16@8", "pwl:8:2@6"):
        assert str(FunctionApprox.parse(text)) == text
    assert FunctionApprox.parse("lut:64") == FunctionApprox("lut", 64, 1, 8.0)
    for bad in ("lut", "lut:1", "pwl:4:9", "lut:16:2", "cubic:4"):
        with pytest.raises(ValueError):
            FunctionApprox.parse(bad)


def test_numerics_dict_round_trip_and_validation() -> None:
    n = Numerics(
        act_bits=6,
        acc_bits=18,
        acc_overflow="saturate",
        elementwise=ElementFormat.parse("fixed16.10"),
        sigmoid=FunctionApprox.parse("pwl:32"),
        silu=FunctionApprox.parse("lut:128@6"),
        round_half="even",
    )
    assert Numerics.from_dict(n.to_dict()) == n
    assert (n.act_max, n.act_min, n.act_bytes) == (31, -32, 1)
    assert Numerics.exact().elementwise.kind == "float64"
    with pytest.raises(ValueError):
        Numerics(act_bits=1)
    with pytest.raises(ValueError):
        Numerics(acc_overflow="clip")  # type: ignore[arg-type]


X = np.linspace(-12, 12, 20001)


def test_lookup_table_error_bound() -> None:
    spec = FunctionApprox("lut", 256, 1, 8.0)
    err = np.abs(sigmoid(X, spec, ElementFormat("float64")) - exact_sigmoid(X))
    step = 16 / 255
    inside = np.abs(X) <= 8
    # nearest sample: |σ'| ≤ 1/4, so at most a quarter of half a step inside the range
    assert err[inside].max() <= step / 8 + 1e-12
    # beyond it the output is 0 or 1
    assert err[~inside].max() <= 1 - exact_sigmoid(np.array([8.0]))[0] + 1e-12
    assert sigmoid(np.array([-9.0, 9.0]), spec, ElementFormat("float64")).tolist() == [0, 1]


def test_piecewise_fits_improve_with_order_and_segments() -> None:
    f64 = ElementFormat("float64")
    exact = exact_sigmoid(X)

    def worst(spec: str) -> float:
        return float(
            np.abs(sigmoid(X, FunctionApprox.parse(spec), f64) - exact)[np.abs(X) <= 8].max()
        )

    assert worst("pwl:16:2") < worst("pwl:16") < worst("pwl:4") < 0.1
    assert worst("pwl:32") < worst("pwl:16") < 1e-2


def test_silu_keeps_its_asymptotes() -> None:
    spec = FunctionApprox.parse("lut:32@4")
    f64 = ElementFormat("float64")
    y = silu(np.array([-50.0, 50.0, 0.0]), spec, f64)
    assert y[1] == pytest.approx(50.0, rel=1e-3) and abs(y[0]) < 1e-3 and y[2] == 0.0
    exact = silu(X, FunctionApprox(), f64)
    assert np.allclose(exact, X * exact_sigmoid(X))


def test_fixed_point_tables_are_rounded() -> None:
    fx = ElementFormat.parse("fixed8.4")
    y = sigmoid(X, FunctionApprox.parse("lut:64"), fx)
    assert np.all(y * 16 == np.rint(y * 16))
