"""A whole study stacked on one device: how long every run of a study takes there.

``ganstudy run`` trains a study's runs in stacked groups (the seeds of a case, and cases that
differ only in learning rate, Adam settings, schedule, data scaling, loss or dropout rate: seed_batch.stack_key),
each group one batched model; on a GPU every architecture stacks. This script forms the
groups exactly as ``ganstudy run`` does for the study at its most seeds, builds each group
on the device through the same code (Trainer, batched_state, the step), times
``--iterations`` iterations of it after a warm-up, scores one member as its run ends, and
projects the study: each group's iterations at its measured rate plus its members' scoring.

It prints a row a group (members, cases, ms per iteration, seed-iterations/s, peak memory,
projected hours) and the study's projected total on this device, one group after another,
which is how ``ganstudy run`` uses one GPU. The same code runs on a CPU (the tests run it
there on a tiny study), where convolutional groups train their seeds alone as
``ganstudy run`` does.

    GANSTUDY_DATA=../shared/data python benchmarks/study_on_device.py studies/keras-gan-mnist.toml \\
        --device cuda --set data.split=test --set data.holdout=2000 [--iterations 50] [--seeds 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import ganstudy as gs
from ganstudy.execution.estimate import duration
from ganstudy.execution.runner import group_seeds
from ganstudy.execution.tasks import RunTask
from ganstudy.spec.config import RunConfig
from ganstudy.training.loop import autocast, real_batches
from ganstudy.training.scoring import evaluate, load_resources
from ganstudy.training.stack import batched_state
from ganstudy.training.steps import STEP_STYLES
from ganstudy.training.trainer import Trainer


def study_tasks(path: str, overrides: list[str], seeds: int | None, device: str, tmp: Path) -> list[RunTask]:
    """The study's runs at ``seeds`` seeds a case (its most by default), grouped as ``ganstudy run`` groups them."""
    study = gs.load(path, set=overrides)
    most = seeds or len(study.seeds)
    runs = study.runs({plan.id: most for plan in study.cases})
    tasks = [RunTask(r.run_hash, r.case, r.seed, r.config.model_dump(mode="json"), str(tmp / r.run_hash),
                     device=device) for r in runs]
    return group_seeds(tasks, workers=1)


def measure_group(task: RunTask, device: str, iterations: int, data_root: str | None) -> dict:
    """Time ``iterations`` of one group's step on ``device`` (its members stacked, or one after
    another where a layer cannot stack) and one member's final scoring; project the group."""
    members = task.runs
    cfgs = [RunConfig.model_validate(m.config) for m in members]
    resources = load_resources(cfgs[0], data_root)
    runs = [Trainer(c, m.run_dir, data_root=data_root, device=device, resources=resources) for c, m in zip(cfgs, members)]
    for run in runs:
        run._build(own_dropout_stream=len(runs) > 1)
    stacked = batched_state(runs) if len(runs) > 1 else None
    if stacked is not None:
        steppers = [(stacked, real_batches([r.sampler for r in runs], stacked))]
    else:
        steppers = [(r.state, real_batches([r.sampler], r.state)) for r in runs]
    step = STEP_STYLES[cfgs[0].train.step_style]
    dev = runs[0].device
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    with autocast(cfgs[0].train.precision, dev):
        for state, batch in steppers:
            for _ in range(5):
                step(state, batch).tolist()  # the loop reads the losses every iteration
        sync()
        t0 = time.perf_counter()
        for _ in range(iterations):
            for state, batch in steppers:
                step(state, batch).tolist()
        sync()
    per_iteration = (time.perf_counter() - t0) / iterations
    t0 = time.perf_counter()
    if runs[0].evaluator is not None:
        evaluate(runs[0].state.g, cfgs[0], runs[0].evaluator, runs[0].reference, 0, dev)
    scoring = time.perf_counter() - t0
    memory = round(torch.cuda.max_memory_allocated(dev) / 2**20) if dev.type == "cuda" else None
    total = runs[0].total
    return {"members": len(runs), "cases": sorted({m.case_id for m in members}), "arch": cfgs[0].model.arch,
            "stacked": stacked is not None, "ms_per_iteration": 1e3 * per_iteration,
            "seed_iterations_per_s": len(runs) / per_iteration, "iterations": total, "peak_mib": memory,
            "projected_s": per_iteration * total + scoring * len(runs)}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", type=int, default=None, help="seeds a case (default: the study's most)")
    parser.add_argument("--iterations", type=int, default=50, help="timed iterations a group")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(1)  # as ganstudy run's workers
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tasks = study_tasks(args.study, args.set, args.seeds, args.device, Path(tmp))
        name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU, 1 thread"
        print(f"{args.study} on {name}: {sum(len(t.members or [t]) for t in tasks)} runs in {len(tasks)} groups")
        print(f"  {'cases':44s} {'arch':18s} {'runs':>4s} {'ms/it':>8s} {'seed-it/s':>9s} {'GPU MiB':>7s} {'time':>8s}")
        for task in tasks:
            row = measure_group(task, args.device, args.iterations, args.data_root)
            rows.append(row)
            cases = ", ".join(row["cases"])
            print(f"  {cases[:44]:44s} {row['arch']:18s} {row['members']:4d} {row['ms_per_iteration']:8.2f} "
                  f"{row['seed_iterations_per_s']:9.0f} {row['peak_mib'] or '-':>7} {duration(row['projected_s']):>8s}"
                  + ("" if row["stacked"] or row["members"] == 1 else "  (not stackable: one after another)"))
            sys.stdout.flush()
    total = sum(r["projected_s"] for r in rows)
    print(f"projected: the whole study, every case at {args.seeds or 'its most'} seeds, {duration(total)} "
          "on this device, group after group")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
