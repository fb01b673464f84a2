"""The training loop: runs stepping from where they stand to their end.

One run steps with its own state; the members of a stack (``stack.py``) step
together in one batched state and are each logged, sampled, checkpointed and scored in
their own folders, each with its own learning-rate schedule. Every phase is timed on the runs' clocks (:mod:`ganstudy.training.phases`), so a run's
overheads can be seen next to its arithmetic.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch

from ..base import faults
from ..base.status import Status
from .checkpoints import promote
from .phases import timed
from .sampler import real_batches
from .schedules import lr_factor
from .steps import STEP_STYLES, GanState

if TYPE_CHECKING:
    from pathlib import Path

    from ..spec.config import RunConfig
    from .phases import PhaseClock
    from .runfolder import RunResult
    from .sampler import Sampler


@dataclass
class Start:
    """Where a run (re)starts: iterations done, the last logged row, seconds trained so far."""

    iteration: int
    last: dict[str, float]
    elapsed: float


class LoopRun(Protocol):
    """What the loop drives of a run (``trainer.Trainer`` is one): the loop owns the order of
    things, the run owns its folder, its scores and its result."""

    cfg: RunConfig
    total: int
    dir: Path
    sampler: Sampler
    clock: PhaseClock
    progress: Callable[[int, int, dict[str, float]], None] | None
    log: Callable[[str], None] | None
    stop_requested: bool  # Ctrl-C reached this process (set by :func:`stop_on_ctrl_c`)

    @property
    def tracker(self) -> Any: ...
    @property
    def evaluator(self) -> Any: ...
    def should_stop(self) -> bool: ...  # the study was asked to stop
    def log_row(self, iteration: int, stats: list[float], elapsed: float, lrs: dict[str, float]) -> dict[str, float]: ...
    def save_samples(self, iteration: int) -> None: ...
    def evaluate(self, done: int, final: bool = False, curve: bool = False) -> dict[str, Any] | None: ...
    def evaluate_end(self, done: int, curve: bool) -> dict[str, Any] | None: ...
    def models_finite(self) -> bool: ...
    def save_checkpoint(self, iteration: int, last: dict[str, float], elapsed: float, pending: bool = False) -> None: ...
    def write_status(self, state: str, iteration: int, **extra: Any) -> None: ...
    def make_result(self, status: str, iterations: int, last: dict[str, float], t0: float, reason: str = "",
                    now: float | None = None) -> RunResult: ...


def autocast(precision: str, device: torch.device) -> ContextManager[Any]:
    """The training step's arithmetic: fp32, or bf16 autocast (the matrix products and
    convolutions in bfloat16, weights, gradients and Adam in fp32; losses stay fp32). Re-entrant."""
    if precision == "bf16":
        # No weight cache: autocast keeps one bf16 copy of each weight for its whole region, and
        # a step updates D inside it; with the cache, D's second batch (keras style) and G's step
        # through D computed with D's weights from before its update.
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
    return nullcontext()


@contextmanager
def stop_on_ctrl_c(runs: list[LoopRun]) -> Iterator[None]:
    """Ctrl-C asks the runs to save a checkpoint and stop at the next iteration; a second
    Ctrl-C stops at once."""
    def request(signum, frame) -> None:  # noqa: ANN001
        if any(r.stop_requested for r in runs):
            raise KeyboardInterrupt
        for r in runs:
            r.stop_requested = True

    try:
        previous = signal.signal(signal.SIGINT, request)
    except ValueError:  # not the main thread: no Ctrl-C handling needed
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_loop(runs: list[LoopRun], state: GanState, starts: list[Start],
             sync: Callable[[int], None] | None = None) -> list[RunResult]:
    """Train ``runs`` from ``starts`` to the end: one run with its own ``state``, or the
    members of a seed group stepping together in a seed-batched ``state``. Every run logs,
    samples, checkpoints and is scored in its own folder; ``sync(i)`` first copies member i's
    slice of the batched state into its own networks and optimizers."""
    cfg, total = runs[0].cfg, runs[0].total
    t = cfg.train
    start = starts[0].iteration
    assert all(s.iteration == start for s in starts), "members must stand at the same iteration"
    step = STEP_STYLES[t.step_style]
    precision = autocast(t.precision, state.device)
    samplers = [r.sampler for r in runs]
    real_batch = real_batches(samplers, state)
    base_lr = [{net: r.cfg.optim.base_lr(net) for net in ("g", "d")} for r in runs]
    t0 = [time.perf_counter() - s.elapsed for s in starts]
    last = [s.last for s in starts]
    results: list[RunResult | None] = [None] * len(runs)
    synced: list[int | None] = [None] * len(runs)
    points = cfg.eval.curve_points if cfg.eval.metrics else 0
    curve_at = {round(total * k / points) for k in range(1, points)} - {0, total} if points else set()

    def own(i: int, it: int) -> None:  # member i's own networks hold its state after iteration ``it``
        if sync is not None and synced[i] != it:
            sync(i)
            synced[i] = it

    clocks = [r.clock for r in runs]
    group = len(runs) > 1  # members commit their checkpoints together (checkpoints.py)

    def commit() -> None:
        for k, r in enumerate(runs if group else []):
            promote(r.dir)
            if k == 0:
                faults.hit("member-commit")

    with ExitStack() as files:
        logs = [files.enter_context(open(r.dir / "metrics.jsonl", "a", encoding="utf-8")) for r in runs]
        for it in range(start, total):
            asked = any(r.stop_requested for r in runs)
            if asked or any(r.should_stop() for r in runs):
                why = "stopped by Ctrl-C; run again with --resume" if asked else \
                    "stopped with its study (ganstudy run was stopped); running the study again continues it"
                for i, r in enumerate(runs):
                    if results[i] is None:
                        own(i, it - 1)
                        r.save_checkpoint(it, last[i], time.perf_counter() - t0[i], pending=group)
                        results[i] = r.make_result(Status.INTERRUPTED, it, last[i], t0[i], why)
                commit()
                return results  # type: ignore[return-value]
            lrs = []  # each run's own schedule (stacked cases may differ in it)
            for k, (r, sp) in enumerate(zip(runs, samplers)):
                factor = lr_factor(r.cfg.optim, it, total, sp.per_epoch)
                lrs.append({"lr_g": base_lr[k]["g"] * factor, "lr_d": base_lr[k]["d"] * factor})
            for name, opt in (("g", state.opt_g), ("d", state.opt_d), ("g", state.opt_dg)):
                if opt is not None:
                    values = [lr[f"lr_{name}"] for lr in lrs]
                    opt.param_groups[0]["lr"] = values[0] if state.members is None else values
            for sp in samplers:
                sp.iteration = it
            with timed(clocks, "steps"), precision:
                stats = step(state, real_batch).tolist()
            per_run = [stats] if state.members is None else stats
            done = it + 1
            for i, r in enumerate(runs):
                if results[i] is not None:  # a member that diverged: its networks still step, unused
                    continue
                values, now = per_run[i], time.perf_counter() - t0[i]
                if not all(math.isfinite(v) for v in values):
                    results[i] = r.make_result(Status.DIVERGED, it, r.log_row(it, values, now, lrs[i]), t0[i],
                                           f"a loss became {values} at iteration {it}")
                    continue
                if it % t.log_every == 0 or done == total:
                    with r.clock("logs"):
                        last[i] = r.log_row(it, values, now, lrs[i])
                        logs[i].write(json.dumps(last[i]) + "\n")
                        logs[i].flush()
                        if r.tracker is not None:
                            r.tracker.scalars(done, last[i])
                if r.progress is not None:  # the bar shows this iteration's losses
                    r.progress(done, total, r.log_row(it, values, now, lrs[i]))
                if it % t.sample_every == 0 or done == total:
                    with r.clock("grids"):
                        own(i, it)
                        r.save_samples(it)
                if cfg.eval.every and done % cfg.eval.every == 0 and done != total:
                    with r.clock("curve"):
                        own(i, it)
                        r.evaluate(done)
                if done in curve_at:
                    with r.clock("curve"):
                        own(i, it)
                        r.evaluate(done, curve=True)
                if done % t.checkpoint_every == 0 or done == total:
                    own(i, it)
                    with r.clock("checkpoints"):
                        finite = r.models_finite()
                    if not finite:
                        results[i] = r.make_result(Status.DIVERGED, it, last[i], t0[i],
                                               f"weights became non-finite by iteration {it}")
                        continue
                    with r.clock("checkpoints"):
                        r.save_checkpoint(done, last[i], time.perf_counter() - t0[i], pending=group)
                        r.write_status(Status.RUNNING, done)
                    faults.hit("member-checkpoint" if group else "checkpoint")
            if done % t.checkpoint_every == 0 or done == total:
                with timed(clocks, "checkpoints"):
                    commit()
            if all(res is not None for res in results):
                return results  # type: ignore[return-value]
    end = time.perf_counter()  # training ends for every member at once; scoring is not training time
    complete = [i for i, res in enumerate(results) if res is None]
    for i in complete:
        results[i] = runs[i].make_result(Status.COMPLETE, total, last[i], t0[i], now=end)
    faults.hit("scoring")
    for i in complete:
        own(i, total - 1)  # the state after the last iteration
        if runs[i].log and runs[i].evaluator is not None:
            runs[i].log(f"scoring {cfg.eval.samples} generated images...")
        with runs[i].clock("scoring"):  # and the curve's last point, on the curve's protocol
            scored = runs[i].evaluate_end(total, curve=bool(points))
        if scored is not None:
            results[i].metrics, results[i].protocol = scored["metrics"], scored["protocol"]  # type: ignore[union-attr]
    return results  # type: ignore[return-value]
