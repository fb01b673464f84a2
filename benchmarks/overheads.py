"""What a 1,000-iteration ``ganstudy train`` spends outside its training arithmetic.

Runs ``ganstudy train`` as a user does (a fresh process, its own thread choice) ``--repeats``
times and reads each run's ``phases`` from ``result.json`` (seconds by phase, timed inside
the run: set-up, steps, logs, grids, curve points, checkpoints, final scoring). The rest of the
process's wall time is start-up and exit: the interpreter, ``import torch`` and torch's
teardown (which any PyTorch program pays, reported apart: a process that only imports torch,
timed in the same rounds) and ganstudy's own imports and checks.

Prints, per phase, the median seconds and their share of the run, and two overhead shares:
everything but the steps, and everything but the steps and a bare torch process. Then the
final scoring's **arithmetic floor**, measured in this process at one thread: every matrix
product and convolution of one final scoring (generating, embedding, the k-NN and kernel
metrics) timed alone, hot, at its own shape. The scoring cannot go under it at this
machine's rates, so it says how much of the overhead is arithmetic and how much is not.

    GANSTUDY_DATA=../shared/data python benchmarks/overheads.py [--iterations 1000] [--repeats 3]
                                                                 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ganstudy.training.phases import PHASES

sys.path.insert(0, str(Path(__file__).parent))
from limits import CONVOLUTIONS, GEMMS, RecordGemms, gemm_floor  # noqa: E402 - a sibling script

DEFAULT_SET = ["data.split=test", "data.holdout=2000"]  # the offline MNIST: the test split, 2,000 held out


def one_run(iterations: int, overrides: list[str], folder: Path) -> tuple[float, dict[str, float]]:
    args = [sys.executable, "-m", "ganstudy.cli.main", "train", "--out", str(folder), "--quiet",
            "--set", f"train.iterations={iterations}"]
    for item in overrides:
        args += ["--set", item]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - start
    return wall, json.loads((folder / "result.json").read_text())["phases"]


def torch_process() -> float:
    """Wall seconds of a process that only imports torch: start, import and exit, which any
    PyTorch program pays (about 1.0 s of import and 0.5 s of start and exit here)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True)
    return time.perf_counter() - start


def scoring_floor(overrides: list[str], folder: Path) -> tuple[float, float, float]:
    """(seconds, floor seconds, GFLOP) of one final scoring of a 1-iteration run of this config, one thread."""
    from ganstudy.machine.cores import use_threads
    from ganstudy.spec.layers import load_config
    from ganstudy.training.trainer import Trainer

    use_threads(1)  # as a study's worker: torch and the scoring's BLAS
    trainer = Trainer(load_config(None, [*overrides, "train.iterations=1"]), folder)
    trainer.run()  # loads the evaluator and reference, and scores once: what follows is warm
    start = time.perf_counter()
    trainer.evaluate(1, final=True)
    seconds = time.perf_counter() - start
    with RecordGemms(GEMMS | CONVOLUTIONS) as record:
        trainer.evaluate(1, final=True)
    floor, flop = gemm_floor(record.calls, repeats=10)
    return seconds, floor, flop / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    overrides = DEFAULT_SET + args.set
    walls, phases, imports = [], {p: [] for p in PHASES}, []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            imports.append(torch_process())
            wall, spent = one_run(args.iterations, overrides, Path(tmp) / f"run{k}")
            walls.append(wall)
            for p in PHASES:
                phases[p].append(spent.get(p, 0.0))
    wall = statistics.median(walls)
    median = {p: statistics.median(v) for p, v in phases.items()}
    torch_s = statistics.median(imports)
    start_up = wall - sum(median.values())
    print(f"ganstudy train, {args.iterations} iterations ({' '.join(overrides)}), median of {args.repeats} processes:")
    print(f"  {'phase':38s} {'seconds':>8s} {'share':>7s}")
    rows = [("a torch process (start, import, exit)", torch_s), ("ganstudy's start-up and exit", start_up - torch_s),
            *((p, median[p]) for p in PHASES)]
    for name, seconds in rows:
        print(f"  {name:38s} {seconds:8.3f} {seconds / wall:7.1%}")
    print(f"  {'process wall time':38s} {wall:8.3f}")
    steps = median["steps"]
    print(f"overhead (all but the steps): {(wall - steps) / wall:.1%}; "
          f"beyond what any PyTorch process pays (start, import torch, exit): "
          f"{(wall - steps - torch_s) / (wall - torch_s):.1%}")
    with tempfile.TemporaryDirectory() as tmp:
        seconds, floor, gflop = scoring_floor(overrides, Path(tmp) / "floor")
    print(f"final scoring, in this process, one thread: {seconds:.3f} s; its matrix products and convolutions "
          f"({gflop:.1f} GFLOP) timed alone: {floor:.3f} s, {floor / seconds:.0%} of it; at that floor, the scoring "
          f"would be {floor / wall:.1%} of the run above")


if __name__ == "__main__":
    main()
