"""Does `--workers 2` finish a 4-run study no slower than `--workers 1`?

Runs the same 4-run study (the Keras-GAN MLP at full width on the shipped MNIST digits,
4 seeds) with 1 and with 2 worker settings, each into a fresh folder, in one process, and
prints the wall times and their ratio. Usage:

    python benchmarks/workers.py [--iterations 400] [--repeats 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ganstudy.execution.runner import run_study

STUDY = """
[study]
name = "bench-workers"
seeds = 4

[baseline]
data.dataset = "mnist-mini"
data.split = "test"
train.iterations = {iterations}
train.log_every = 100
train.sample_every = 100000
train.checkpoint_every = 100000
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study.toml"
        study.write_text(STUDY.format(iterations=args.iterations))
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(args.repeats):
            for workers in (1, 2):
                t0 = time.perf_counter()
                summary = run_study(study, Path(tmp) / f"w{workers}-{r}", workers=workers, live=False)
                assert summary.counts == {"complete": 4}, summary.counts
                times[workers].append(time.perf_counter() - t0)
        best = {w: min(t) for w, t in times.items()}
        for w in (1, 2):
            print(f"--workers {w}: {best[w]:.1f} s for 4 runs x {args.iterations} iterations")
        print(f"speed-up of --workers 2 over --workers 1: {best[1] / best[2]:.2f}x")


if __name__ == "__main__":
    main()
