"""``cosim schema`` output accepts every example and rejects broken ones."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml

from arch_models.spec.jsonschema import arch_json_schema
from tests.conftest import example_designs

SCHEMA = arch_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EXAMPLE_DATA = {p.name: yaml.safe_load(p.read_text()) for p in example_designs()}


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(EXAMPLE_DATA))
def test_examples_validate(name: str) -> None:
    errors = list(VALIDATOR.iter_errors(EXAMPLE_DATA[name]))
    assert not errors, [e.message for e in errors]


def _broken(name: str, change: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(EXAMPLE_DATA[name])
    change(data)
    return data


BROKEN = {
    "unknown top key": lambda d: d.update(colour="red"),
    "missing units": lambda d: d.pop("units"),
    "unknown part": lambda d: d["device"].update(part="alveo-u999"),
    "lanes not power of two": lambda d: d["units"][1].update(lanes=48),
    "unknown kind": lambda d: d["units"][0].update(kind="tenary_array"),
    "wrong type": lambda d: d.update(clock_mhz="60"),
    "unknown unit key": lambda d: d["units"][1].update(lane=3),
    "bad packing": lambda d: d["units"][1].update(weight_packing="3bit"),
    "version 2": lambda d: d.update(version=2),
}


@pytest.mark.parametrize("what", sorted(BROKEN))
def test_broken_rejected(what: str) -> None:
    data = _broken("d5005_paper_core.yaml", BROKEN[what])
    assert list(VALIDATOR.iter_errors(data)), what
