"""One-call GPU check of the ``fused`` implementation: correct, how fast, how many kernels.

For 370M, 1.3B and 2.7B (random weights, seed 0, prompt 128):

- **correctness**: the Triton kernels against the same model's torch reference path
  (:data:`gpubench.fused.REFERENCE_OPS`, same math) on the same GPU, teacher-forced:
  every step gets the same input token. Exactness is expected up to float32 reduction
  order inside the RMSNorms (a few ulps); an int8 activation that such an ulp moves
  across a rounding boundary shifts logits by ~1e-3 relative. Pass: greedy tokens equal
  at every checked step of both batch sizes and max |logit diff| <= 1e-2 · max|logit|
  (a wrong kernel is off by O(1)). Against ``packed`` (same ternary weights, but norms,
  gates and state in bf16): only the agreement of greedy tokens and the cosine of the
  logits are printed; pass needs cosine >= 0.99 (bf16 rounding moves logits by ~1e-2).
- **speed**: ms/token of decode at batch 1 and 16, each step one CUDA graph replay
  (median of 128 steps after the prompt), against the targets 1.1 / 1.6 / 2.7 ms at
  batch 1;
- **kernels per decode step** (torch.profiler, CUDA activity, one eager step);
- **% of the HBM bandwidth bound**: bytes a step must read (2-bit codes of every matrix
  and the head, scales and norms, one embedding row per sequence, the state read and
  written) over the measured HBM read bandwidth (a 4 GiB ``sum``) and over the
  datasheet's (H200 4.8 TB/s, H100 SXM 3.35 TB/s).

Run on the GPU machine: ``python benchmarks/gpu_fused_check.py`` (about 1-2 minutes on
an H200). Exit status 0 when every check passes, 1 when one fails, 2 without a GPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = {"370m": 1.1, "1.3b": 1.6, "2.7b": 2.7}
DATASHEET_TBPS = {"H200": 4.8, "H100": 3.35}
PROMPT = 128
STEPS = 128
CHECK_STEPS = 6


def _fail(msg: str) -> int:
    print(f"gpu_fused_check: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the checks; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="370m,1.3b,2.7b", help="default 370m,1.3b,2.7b")
    p.add_argument("--skip-reference", action="store_true", help="no reference-path check")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        return _fail("PyTorch is not installed")
    if not torch.cuda.is_available():
        return _fail("no CUDA GPU is visible (this check runs on the GPU machine)")
    from gpubench.fused import REFERENCE_OPS, FusedMMfreeLM, FusedRunner
    from gpubench.kernels import triton_available
    from gpubench.measure import Runner, count_gpu_ops
    from gpubench.models import FusedDecoder, build_decoder, build_model
    from gpubench.shapes import get_shape
    from gpubench.timing import median, sync, time_steps

    if not triton_available():
        return _fail("Triton is not installed (the fused kernels need it)")
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(dev)
    sheet = next((v for k, v in DATASHEET_TBPS.items() if k in name), None)
    src = torch.empty(2**30, dtype=torch.float32, device=dev).normal_()
    src.sum()
    reps = time_steps(src.sum, 10, dev)
    measured_tbps = src.numel() * 4 / (median(reps) * 1e-3) / 1e12
    del src
    print(f"device: {name}; HBM read {measured_tbps:.2f} TB/s measured, datasheet {sheet} TB/s")
    ok = True
    t_all = time.perf_counter()
    for model_name in args.models.split(","):
        shape = get_shape(model_name)
        t0 = time.perf_counter()
        packed = build_model(shape, "packed", dev, torch.bfloat16, seed=0)
        from workloads.torch_model import TorchMMfreeLM

        assert isinstance(packed, TorchMMfreeLM)
        fused = FusedMMfreeLM.from_packed(packed)
        print(f"\n{model_name}: built in {time.perf_counter() - t0:.1f} s")
        gen = torch.Generator().manual_seed(1)
        prompt = torch.randint(0, shape.vocab, (16, PROMPT), generator=gen).to(dev)

        # correctness: Triton against the reference path, teacher-forced
        if not args.skip_reference:
            for batch in (1, 16):
                runs = []
                for ops in (fused.ops(), REFERENCE_OPS):
                    runner = FusedRunner(fused, batch, PROMPT, ops)
                    state = torch.zeros(batch, shape.layers, shape.d, device=dev)
                    with torch.inference_mode():
                        outs = [runner.forward(prompt[:batch], state).clone()]
                        for k in range(CHECK_STEPS):
                            ids = prompt[:batch, k % PROMPT : k % PROMPT + 1]
                            outs.append(runner.forward(ids, state).clone())
                    runs.append(torch.stack(outs))
                tri, ref = runs
                rel = float((tri - ref).abs().max() / ref.abs().max())
                same = bool(torch.equal(tri.argmax(-1), ref.argmax(-1)))
                good = same and rel <= 1e-2
                ok &= good
                print(
                    f"  b{batch:<2} triton vs reference: tokens equal {same}, "
                    f"max |diff| {rel:.1e} of max|logit| -> {'ok' if good else 'FAIL'}"
                )
        # against packed (bf16 elementwise): agreement only
        dp, df = build_decoder(packed, 16, PROMPT, 8), build_decoder(fused, 16, PROMPT, 8)
        assert isinstance(df, FusedDecoder)
        toks_p: list[torch.Tensor] = []
        toks_f: list[torch.Tensor] = []
        for dec, toks in ((dp, toks_p), (df, toks_f)):
            dec.prompt.copy_(prompt)
            dec.prefill_()
            toks.append(dec.token.clone())
            for _ in range(CHECK_STEPS):
                dec.step_()
                toks.append(dec.token.clone())
        df.prefill_()
        with torch.inference_mode():
            lp = packed(prompt, packed.initial_state(16), last_only=True)[0].float()
            lf = df.runner.logits.clone()
        cos = float(torch.nn.functional.cosine_similarity(lp.flatten(), lf.flatten(), dim=0))
        agree = float((torch.stack(toks_p) == torch.stack(toks_f)).float().mean())
        del dp
        good = cos >= 0.99
        ok &= good
        print(
            f"  b16 fused vs packed: greedy tokens agree {agree:.0%}, cosine of prompt "
            f"logits {cos:.4f} -> {'ok' if good else 'FAIL'}"
        )
        del packed
        torch.cuda.empty_cache()

        # speed and kernel counts
        code_bytes = sum(fused.buf(n).numel() for n in fused.state_dict() if "codes" in n)
        small = sum(
            fused.buf(n).numel() * fused.buf(n).element_size()
            for n in fused.state_dict()
            if "codes" not in n and n != "embeddings"
        )
        for batch in (1, 16):
            dec = build_decoder(fused, batch, PROMPT, STEPS + 8)
            dec.prompt.copy_(prompt[:batch])
            dec.prefill_()
            kernels = count_gpu_ops(dec.step_, dev)
            runner = Runner(dec, "graph", dev)
            runner.prefill()
            for _ in range(4):
                runner.step()
            runner.prefill()
            sync(dev)
            ms = median(time_steps(runner.step, STEPS, dev))
            state_bytes = 2 * batch * shape.layers * shape.d * 4
            emb_bytes = batch * shape.d * fused.buf("embeddings").element_size()
            step_bytes = code_bytes + small + state_bytes + emb_bytes
            bound_ms = step_bytes / (measured_tbps * 1e12) * 1e3
            pct = 100 * bound_ms / ms
            sheet_pct = (
                f", {100 * step_bytes / (sheet * 1e12) * 1e3 / ms:.0f}% of datasheet"
                if sheet
                else ""
            )
            target = ""
            if batch == 1:
                hit = ms <= TARGET_MS[model_name]
                target = f" (target <= {TARGET_MS[model_name]} ms: {'met' if hit else 'MISSED'})"
            print(
                f"  b{batch:<2} graph {ms:.3f} ms/token{target}; {kernels} CUDA kernels/step; "
                f"{step_bytes / 1e6:.1f} MB/step, bound {bound_ms:.3f} ms = {pct:.0f}% of "
                f"measured HBM{sheet_pct}"
            )
            del runner, dec
        del fused
        torch.cuda.empty_cache()
    verdict = "all checks passed" if ok else "SOME CHECKS FAILED"
    print(f"\n{verdict} ({time.perf_counter() - t_all:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
