"""How close one training step comes to what this machine allows, measured in the same run.

For Keras-GAN's MLP GAN (batch 32, each step style), on the threads given:
- **the matrix-multiply floor**: every GEMM of one ganstudy iteration is recorded (shape,
  layout, operator) and each is timed alone, hot, at its own shape; their sum is the time
  the step's multiplies cannot go under at this machine's GEMM rate for those shapes;
- **the Adam floor**: fused Adam streams each parameter, gradient and both moments in and
  writes three back, 28 bytes a parameter a step; at the memory bandwidth measured here
  (a large ``add_``, the same read-read-write pattern), that is its floor;
- the **limit** is their sum (one thread cannot overlap them), and each step's **share of
  the limit** is limit / its time: 1.0 would be a step made only of perfect GEMMs and Adam;
- **the best plain loop** (benchmarks/training_speed.py: fused Adam, D frozen while G steps)
  in the same interleaved rounds, and ganstudy against it.

    python benchmarks/limits.py [--threads 1] [--rounds 7] [--iterations 40] [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from training_speed import ganstudy_step_state, make_step  # a sibling script

GEMMS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
         torch.ops.aten.baddbmm.default}
CONVOLUTIONS = {torch.ops.aten.convolution.default}
ADAM_BYTES = 28  # fused Adam per parameter: reads p, g, m, v (16 B) and writes p, m, v (12 B), fp32


class RecordGemms(TorchDispatchMode):
    """Every matrix multiply an iteration runs (or every call of ``ops``): (operator, its tensor
    arguments' shapes and strides)."""

    def __init__(self, ops: set = GEMMS) -> None:  # noqa: B006 - never mutated
        super().__init__()
        self.ops = ops
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if func in self.ops:
            self.calls.append((func, [(a.shape, a.stride()) if isinstance(a, torch.Tensor) else a for a in args]))
        return func(*args, **(kwargs or {}))


def _tensor(shape: torch.Size, stride: tuple[int, ...]) -> torch.Tensor:
    size = 1 + sum((n - 1) * s for n, s in zip(shape, stride))
    return torch.randn(size).as_strided(shape, stride)


def gemm_floor(calls: list[tuple], repeats: int = 50) -> tuple[float, float]:
    """(seconds, FLOP) of recorded GEMMs (and convolutions), each timed alone at its shape
    (best of ``repeats``, after one call that also gives the output's size)."""
    seconds = flop = 0.0
    for func, specs in calls:
        args = [_tensor(*spec) if isinstance(spec, tuple) and isinstance(spec[0], torch.Size) else spec
                for spec in specs]
        out = func(*args)
        # Each output element is a dot product: of the inner dimension, or of in-channels x kernel.
        inner = args[1][0].numel() if func in CONVOLUTIONS else args[-2].shape[-1]
        flop += 2.0 * out.numel() * inner
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            func(*args)
            best = min(best, time.perf_counter() - t0)
        seconds += best
    return seconds, flop


def bandwidth(mib: int = 256, repeats: int = 5) -> float:
    """Bytes/s of ``a.add_(b)`` on arrays much larger than the caches (2 reads, 1 write an element)."""
    n = mib * 2**20 // 4
    a, b = torch.ones(n), torch.ones(n)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a.add_(b)
        best = min(best, time.perf_counter() - t0)
    return 3 * 4 * n / best


def adam_parameters(state) -> int:  # noqa: ANN001 - a GanState
    """Parameters updated by Adam in one keras-style iteration: D twice, G once (pytorch style: D once)."""
    d = sum(p.numel() for p in state.d.parameters())
    g = sum(p.numel() for p in state.g.parameters())
    return (2 if state.cfg.train.step_style == "keras" else 1) * d + g


def timed(steps: dict[str, Callable[[], None]], iterations: int, rounds: int) -> dict[str, float]:
    """Median seconds per iteration of each step, in interleaved rounds (a noisy machine moves all alike)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        for _ in range(5):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            for _ in range(iterations):
                step()
            times[name].append((time.perf_counter() - t0) / iterations)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    bytes_per_s = bandwidth()
    print(f"{args.threads} thread(s); memory bandwidth ({'a.add_(b)'}, 256 MiB): {bytes_per_s / 1e9:.1f} GB/s")
    with tempfile.TemporaryDirectory() as tmp:
        for style in ("keras", "pytorch"):
            one, state = ganstudy_step_state(style, None, 32, "cpu", Path(tmp))
            stacked, stacked_state = ganstudy_step_state(style, args.seeds, 32, "cpu", Path(tmp))
            plain = make_step(("plain", f"reference-{style}", None), 32, device, Path(tmp))
            limits, calls = {}, {}
            for name, fn, st, members in (("ganstudy one run", one, state, 1),
                                          (f"ganstudy {args.seeds} seeds stacked", stacked, stacked_state, args.seeds)):
                record = RecordGemms()
                with record:
                    fn()
                gemm_s, flop = gemm_floor(record.calls)
                adam_s = adam_parameters(st) * ADAM_BYTES / bytes_per_s  # members are counted in numel
                limits[name] = (gemm_s, adam_s, flop, members)
                calls[members] = len(record.calls)
            measured = timed({"best plain loop": plain, "ganstudy one run": one,
                              f"ganstudy {args.seeds} seeds stacked": stacked}, args.iterations, args.rounds)
            print(f"\n{style} step style, batch 32 (ms per seed-iteration; share = limit / time)")
            print(f"  {'':28s} {'time':>7s} {'GEMM floor':>10s} {'Adam floor':>10s} {'share':>6s} {'GFLOP/s':>8s} "
                  f"{'vs plain':>8s}")
            gemm_s, adam_s, flop, _ = limits["ganstudy one run"]
            for name, seconds in measured.items():
                g_s, a_s, f, members = limits.get(name, (gemm_s, adam_s, flop, 1))
                per = seconds / members
                print(f"  {name:28s} {1e3 * per:7.2f} {1e3 * g_s / members:10.2f} {1e3 * a_s / members:10.2f} "
                      f"{(g_s + a_s) / seconds:6.2f} {f / seconds / 1e9:8.1f} "
                      f"{measured['best plain loop'] / per:7.2f}x")
            print(f"  one run's iteration: {flop / 1e6:.0f} MFLOP in {calls[1]} GEMM calls, at "
                  f"{flop / gemm_s / 1e9:.1f} GFLOP/s alone at their shapes; Adam "
                  f"{adam_parameters(state) * ADAM_BYTES / 1e6:.0f} MB streamed")


if __name__ == "__main__":
    main()
