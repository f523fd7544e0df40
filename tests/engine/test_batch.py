"""Batches on FPGA designs: one weight pass serves B sequences (hand-computed cycles)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from arch_models.spec import load_arch
from arch_models.spec.evolve import evolve
from arch_models.spec.units import TernaryArray
from arch_models.units.ternary import array_logic, plan_matvec
from arch_models.workload import MatrixInfo, Workload
from cosim.engine import simulate
from tests.conftest import EXAMPLES
from tests.engine.synth import synthetic_workload

WL = synthetic_workload(layers=2, d=512, inter=1536, vocab=2048, steps=3, prompt=2)


def _array(**fields: object) -> TernaryArray:
    return TernaryArray.model_validate(
        {"kind": "ternary_array", "name": "t", "lanes": 16, "tile_cols": 64, **fields}
    )


def _dense(rows: int, cols: int) -> MatrixInfo:
    blocks = -(-cols // 64)
    return MatrixInfo(0, "m", rows, cols, 64, np.full((rows, blocks), 64, dtype=np.uint8))


def test_a_tile_serves_every_vector_of_a_batch() -> None:
    """Hand-computed: 8 rows x 128 columns, 16 lanes, 2 trees: 4 tiles of 4 cycles each."""
    m = _dense(8, 128)
    one = plan_matvec(_array(rows_parallel=2), m, 0, 8, 1 << 20, 4)
    # 4 row groups x 2 column tiles, each ceil(64 / 16) = 4 cycles
    assert one.cycles == 4 * 2 * 4 and one.nbytes == 8 * 128 // 4 and one.adds == 8 * 128
    in_turn = plan_matvec(_array(rows_parallel=2), m, 0, 8, 1 << 20, 4, vectors=5)
    assert in_turn.cycles == 5 * 32  # every tile passed over once per vector
    assert in_turn.nbytes == one.nbytes  # the weights are read once
    assert in_turn.adds == 5 * one.adds
    both = plan_matvec(_array(rows_parallel=2, parallel_vectors=2), m, 0, 8, 1 << 20, 4, 5)
    assert both.cycles == math.ceil(5 / 2) * 32 and both.adds == 5 * one.adds
    # hand-off bubbles repeat with each pass over a row group's last tile
    bubbly = plan_matvec(_array(handoff_bubble_cycles=3), m, 0, 8, 1 << 20, 4, vectors=2)
    assert bubbly.cycles == 2 * (8 * 2 * 4 + 8 * 3)


def test_vectors_in_parallel_replicate_the_trees_not_the_decode() -> None:
    one, four = (
        array_logic(_array(rows_parallel=2)),
        array_logic(_array(rows_parallel=2, parallel_vectors=4)),
    )
    assert four.adder_bits > 3.5 * one.adder_bits  # trees and reducers four times
    assert four.decoders == one.decoders  # the weight decode shared


def test_a_batch_reads_the_weights_once_and_multiplies_the_tokens() -> None:
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    one = simulate(arch, WL).summary
    four = simulate(arch, WL.batched(4)).summary
    assert four["batch"] == 4 and one["batch"] == 1
    weights = one["offchip_bytes_per_token"]
    assert four["offchip_bytes_per_token"] >= weights  # the same weights, plus any spills
    # four sequences a step: per-sequence time longer, aggregate throughput higher
    assert four["ms_per_token"] > one["ms_per_token"]
    assert four["tokens_per_s"] == pytest.approx(4 * 1000 / four["ms_per_token"])
    assert four["tokens_per_s"] > one["tokens_per_s"]
    assert four["energy_per_token_j"] == pytest.approx(
        four["avg_power_w"] * four["ms_per_token"] / 1000 / 4
    )
    assert four["tokens_per_s"] <= four["bound_tokens_per_s"] * (1 + 1e-9)
    assert four["time_to_first_token_ms"] >= four["prefill_ms"] > 0


def test_a_batch_state_that_does_not_fit_spills_with_its_traffic() -> None:
    """The recurrent state of every sequence: on chip while it fits, else through memory."""
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    state = next(u for u in arch.spec.units if getattr(u, "holds", None) == "state")
    d, layers, cores = 512, 2, arch.spec.layout.cores
    per_sequence = math.ceil(layers * d * 2 / cores)
    fits = state.capacity_bytes // per_sequence
    assert fits >= 1
    small = simulate(arch, WL.batched(max(1, fits // 2))).summary
    assert small["onchip"]["state_on_chip"]
    big = simulate(arch, WL.batched(4 * fits + 4)).summary
    assert not big["onchip"]["state_on_chip"]
    note = next(n for n in big["onchip"]["notes"] if "recurrent state spills" in n)
    # it names the file and the fields that would keep the batch's state on chip
    assert f"{4 * fits + 4} sequences' state in u280_hbm.yaml" in note
    assert f"raise {state.name}.capacity_kib or lower {arch.spec.layout.name}.batch" in note


def test_in_parallel_is_faster_when_the_array_binds() -> None:
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    tmac = next(u for u in arch.spec.units if u.kind == "ternary_array")
    turn = simulate(arch, WL.batched(8)).summary
    wide = simulate(evolve(arch, {f"{tmac.name}.parallel_vectors": 8}), WL.batched(8)).summary
    assert wide["tokens_per_s"] > turn["tokens_per_s"]
    assert wide["resources"]["lut"]["used"] > turn["resources"]["lut"]["used"]


def test_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WL.batched(0)
    with pytest.raises(ValueError, match="already"):
        WL.batched(2).batched(2)


def test_the_design_carries_its_batch_and_the_command_line_overrides_it(
    tmp_path: Path,
) -> None:
    """``layout.batch`` in the description (searchable like any field); ``--batch`` wins."""
    import json
    import subprocess
    import sys

    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    layout = arch.spec.layout
    eight = evolve(arch, {f"{layout.name}.batch": 8})
    assert simulate(eight, WL).summary["batch"] == 8
    assert simulate(eight, WL.batched(2)).summary["batch"] == 2  # a batched workload stays
    cmd = [sys.executable, "-m", "cosim_cli", "simulate", str(EXAMPLES / "u280_hbm.yaml")]
    out = subprocess.run(
        [*cmd, "--model", "tiny", "--batch", "3", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["batch"] == 3
    bad = subprocess.run([*cmd, "--model", "tiny", "--batch", "0"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--batch must be between 1 and" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_prefill_chunk_shares_one_weight_read() -> None:
    """Chunks of the prompt: one weight pass a chunk, the recurrence still per position."""
    prompt = synthetic_workload(layers=2, d=512, inter=1536, vocab=2048, steps=2, prompt=8)
    chunked = prompt.chunked_prefill(4)
    phases = [(s.phase, s.positions, s.vectors) for s in chunked.steps]
    assert phases == [("prefill", 4, 4), ("prefill", 4, 4), ("decode", 1, 1), ("decode", 1, 1)]
    assert [s.index for s in chunked.steps] == [0, 1, 2, 3]
    rec = next(op for op in prompt.steps[0].ops if op.kind == "recurrence")
    chunk_rec = next(op for op in chunked.steps[0].ops if op.kind == "recurrence")
    assert chunk_rec.elements == 4 * rec.elements  # four positions' state updates, in order
    assert prompt.chunked_prefill(1) is prompt
    arch = load_arch(EXAMPLES / "u280_hbm.yaml")
    one, four = simulate(arch, prompt).summary, simulate(arch, chunked).summary
    assert four["prompt_tokens"] == one["prompt_tokens"] == 8
    assert four["time_to_first_token_ms"] < one["time_to_first_token_ms"]
    assert four["ms_per_token"] == pytest.approx(one["ms_per_token"])  # decode unchanged
    # a design that streams its weights: each chunk reads them once, a quarter of the
    # position-by-position weight traffic
    streaming = load_arch(EXAMPLES / "d5005_paper_core.yaml")

    def weight_bytes(workload: Workload) -> int:
        f = simulate(streaming, workload).frame
        rows = (f["kind"] == "offchip") & (f["phase"] == "prefill")
        rows &= ~f["op"].isin(["embedding", "spill"])  # the weights alone
        return int(f.loc[rows, "bytes"].sum())

    assert weight_bytes(chunked) == pytest.approx(weight_bytes(prompt) / 4, rel=0.02)
    with pytest.raises(ValueError, match="at least 1 position"):
        prompt.chunked_prefill(0)
