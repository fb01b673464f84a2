"""train.precision: the training step in fp32 and in bf16 autocast, per architecture, timed in
the same process in interleaved rounds (fp32, bf16, fp32, ...; the median round kept), so a
noisy machine moves both alike. Prints ms per iteration and the bf16 speed-up, and says
whether this CPU multiplies bf16 natively (AMX / AVX512-BF16). Usage:

    python benchmarks/precision_speed.py [--archs mlp keras-dcgan cits4404-notebook] [--threads 1]
                                         [--rounds 7] [--steps 5] [--data-root ../shared/data]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from ganstudy.machine.precision import bf16_native
from ganstudy.spec.layers import Layer, build_config
from ganstudy.training.loop import autocast, real_batches
from ganstudy.training.steps import STEP_STYLES
from ganstudy.training.trainer import Trainer

#: Each architecture as its study trains it (the write-ups' step style, loss and batch).
SETUPS = {
    "mlp": {"data.dataset": "mnist-mini"},
    "keras-dcgan": {"data.dataset": "mnist-mini"},
    "cits4404-notebook": {"data.dataset": "svhn-standin", "train.step_style": "pytorch", "loss.kind": "bce_logits",
                          "train.batch_size": 128, "data.scale": "minus_one_one"},
}


def build(arch: str, precision: str, data_root: str | None) -> Trainer:
    keys = {"data.split": "test", "data.limit": 2000, "model.arch": arch, "train.iterations": 100,
            "train.precision": precision, "eval.metrics": [], **SETUPS.get(arch, {"data.dataset": "mnist-mini"})}
    trainer = Trainer(build_config([Layer("benchmark", keys)]), tempfile.mkdtemp(prefix="ganstudy-bench-"),
                      data_root=data_root, device="cpu")
    trainer.prepare(resume=False)
    return trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=list(SETUPS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"bf16 here: {bf16_native('cpu')[1]}; {args.threads} thread(s)")
    print(f"{'architecture':20s} {'fp32 ms/it':>11s} {'bf16 ms/it':>11s} {'bf16 speed-up':>14s}")
    for arch in args.archs:
        runs = {p: build(arch, p, args.data_root) for p in ("fp32", "bf16")}
        steps = {}
        for p, t in runs.items():
            steps[p] = (STEP_STYLES[t.cfg.train.step_style], autocast(p, t.state.device),
                        real_batches([t.sampler], t.state), t.state)
            for _ in range(2):  # warm-up: allocator, one-off kernels
                with steps[p][1]:
                    steps[p][0](t.state, steps[p][2])
        times: dict[str, list[float]] = {p: [] for p in runs}
        for _ in range(args.rounds):
            for p, (step, ctx, batch, state) in steps.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    with ctx:
                        step(state, batch).tolist()  # .tolist(): wait for the step, as training does
                times[p].append(1000 * (time.perf_counter() - start) / args.steps)
        fp32, bf16 = (statistics.median(times[p]) for p in ("fp32", "bf16"))
        print(f"{arch:20s} {fp32:11.1f} {bf16:11.1f} {fp32 / bf16:13.2f}x")


if __name__ == "__main__":
    main()
