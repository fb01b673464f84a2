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
    members of a stack stepping together in a batched ``state``. Every run logs, samples,
    checkpoints and is scored in its own folder; ``sync(i)`` first copies member i's slice of
    the batched state into its own networks and optimizers."""
    return _Loop(runs, state, starts, sync).run()


class _Loop:
    """One call of :func:`run_loop`: the state it shares between iterations, and one method a
    phase (stop, learning rates, after a step, the end), called in that order."""

    def __init__(self, runs: list[LoopRun], state: GanState, starts: list[Start],
                 sync: Callable[[int], None] | None) -> None:
        self.runs, self.state, self.sync = runs, state, sync
        self.cfg, self.total = runs[0].cfg, runs[0].total
        self.start = starts[0].iteration
        assert all(s.iteration == self.start for s in starts), "members must stand at the same iteration"
        self.samplers = [r.sampler for r in runs]
        self.base_lr = [{net: r.cfg.optim.base_lr(net) for net in ("g", "d")} for r in runs]
        self.t0 = [time.perf_counter() - s.elapsed for s in starts]
        self.last = [s.last for s in starts]
        self.results: list[RunResult | None] = [None] * len(runs)
        self.synced: list[int | None] = [None] * len(runs)
        points = self.cfg.eval.curve_points if self.cfg.eval.metrics else 0
        self.curve = bool(points)
        self.curve_at = {round(self.total * k / points) for k in range(1, points)} - {0, self.total} if points else set()
        self.clocks = [r.clock for r in runs]
        self.group = len(runs) > 1  # members commit their checkpoints together (checkpoints.py)

    def own(self, i: int, it: int) -> None:
        """Member i's own networks hold its state after iteration ``it``."""
        if self.sync is not None and self.synced[i] != it:
            self.sync(i)
            self.synced[i] = it

    def commit(self) -> None:
        for k, r in enumerate(self.runs if self.group else []):
            promote(r.dir)
            if k == 0:
                faults.hit("member-commit")

    def run(self) -> list[RunResult]:
        t = self.cfg.train
        step = STEP_STYLES[t.step_style]
        precision = autocast(t.precision, self.state.device)
        real_batch = real_batches(self.samplers, self.state)
        with ExitStack() as files:
            logs = [files.enter_context(open(r.dir / "metrics.jsonl", "a", encoding="utf-8")) for r in self.runs]
            for it in range(self.start, self.total):
                if self.stopped(it):
                    return self.results  # type: ignore[return-value]
                lrs = self.set_learning_rates(it)
                for sp in self.samplers:
                    sp.iteration = it
                with timed(self.clocks, "steps"), precision:
                    stats = step(self.state, real_batch).tolist()
                per_run = [stats] if self.state.members is None else stats
                for i, r in enumerate(self.runs):
                    if self.results[i] is None:  # a member that diverged: its networks still step, unused
                        self.after_step(i, r, it, per_run[i], lrs[i], logs[i])
                if (it + 1) % t.checkpoint_every == 0 or it + 1 == self.total:
                    with timed(self.clocks, "checkpoints"):
                        self.commit()
                if all(res is not None for res in self.results):
                    return self.results  # type: ignore[return-value]
        return self.end()

    def stopped(self, it: int) -> bool:
        """Ctrl-C here, or the study stopped: every run still going saves and is interrupted."""
        asked = any(r.stop_requested for r in self.runs)
        if not (asked or any(r.should_stop() for r in self.runs)):
            return False
        why = "stopped by Ctrl-C; run again with --resume" if asked else \
            "stopped with its study (ganstudy run was stopped); running the study again continues it"
        for i, r in enumerate(self.runs):
            if self.results[i] is None:
                self.own(i, it - 1)
                r.save_checkpoint(it, self.last[i], time.perf_counter() - self.t0[i], pending=self.group)
                self.results[i] = r.make_result(Status.INTERRUPTED, it, self.last[i], self.t0[i], why)
        self.commit()
        return True

    def set_learning_rates(self, it: int) -> list[dict[str, float]]:
        """Each run's own schedule (stacked cases may differ in it), set in the optimizers."""
        lrs = []
        for k, (r, sp) in enumerate(zip(self.runs, self.samplers)):
            factor = lr_factor(r.cfg.optim, it, self.total, sp.per_epoch)
            lrs.append({"lr_g": self.base_lr[k]["g"] * factor, "lr_d": self.base_lr[k]["d"] * factor})
        state = self.state
        for name, opt in (("g", state.opt_g), ("d", state.opt_d), ("g", state.opt_dg)):
            if opt is not None:
                values = [lr[f"lr_{name}"] for lr in lrs]
                opt.param_groups[0]["lr"] = values[0] if state.members is None else values
        return lrs

    def after_step(self, i: int, r: LoopRun, it: int, values: list[float], lrs: dict[str, float], log: Any) -> None:
        """Run i after iteration ``it``: divergence, its log line, progress, grids, curve points, checkpoint."""
        t, done, now = self.cfg.train, it + 1, time.perf_counter() - self.t0[i]
        if not all(math.isfinite(v) for v in values):
            self.results[i] = r.make_result(Status.DIVERGED, it, r.log_row(it, values, now, lrs), self.t0[i],
                                            f"a loss became {values} at iteration {it}")
            return
        if it % t.log_every == 0 or done == self.total:
            with r.clock("logs"):
                self.last[i] = r.log_row(it, values, now, lrs)
                log.write(json.dumps(self.last[i]) + "\n")
                log.flush()
                if r.tracker is not None:
                    r.tracker.scalars(done, self.last[i])
        if r.progress is not None:  # the bar shows this iteration's losses
            r.progress(done, self.total, r.log_row(it, values, now, lrs))
        if it % t.sample_every == 0 or done == self.total:
            with r.clock("grids"):
                self.own(i, it)
                r.save_samples(it)
        if self.cfg.eval.every and done % self.cfg.eval.every == 0 and done != self.total:
            with r.clock("curve"):
                self.own(i, it)
                r.evaluate(done)
        if done in self.curve_at:
            with r.clock("curve"):
                self.own(i, it)
                r.evaluate(done, curve=True)
        if done % t.checkpoint_every == 0 or done == self.total:
            self.own(i, it)
            with r.clock("checkpoints"):
                finite = r.models_finite()
            if not finite:
                self.results[i] = r.make_result(Status.DIVERGED, it, self.last[i], self.t0[i],
                                                f"weights became non-finite by iteration {it}")
                return
            with r.clock("checkpoints"):
                r.save_checkpoint(done, self.last[i], time.perf_counter() - self.t0[i], pending=self.group)
                r.write_status(Status.RUNNING, done)
            faults.hit("member-checkpoint" if self.group else "checkpoint")

    def end(self) -> list[RunResult]:
        """Training ends for every member at once (scoring is not training time); then scoring."""
        end = time.perf_counter()
        complete = [i for i, res in enumerate(self.results) if res is None]
        for i in complete:
            self.results[i] = self.runs[i].make_result(Status.COMPLETE, self.total, self.last[i], self.t0[i], now=end)
        faults.hit("scoring")
        for i in complete:
            run = self.runs[i]
            self.own(i, self.total - 1)  # the state after the last iteration
            if run.log and run.evaluator is not None:
                run.log(f"scoring {self.cfg.eval.samples} generated images...")
            with run.clock("scoring"):  # and the curve's last point, on the curve's protocol
                scored = run.evaluate_end(self.total, curve=self.curve)
            if scored is not None:
                self.results[i].metrics, self.results[i].protocol = scored["metrics"], scored["protocol"]  # type: ignore[union-attr]
        return self.results  # type: ignore[return-value]
