"""The task an executor runs: one training run in its folder (or a seed group: the runs of
one configuration that differ only in seed, trained seed-batched), whatever happens.

Executors (local processes, Ray workers) all call :func:`run_task`. It never raises for a
run's own failure: an exception becomes a ``failed`` outcome with its traceback saved in
the run folder, so the study goes on.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..base.status import Status
from ..storage.index import RUN_LOCK, RunBusy, run_lock

#: (run hash, iterations done, total iterations) — how a worker reports progress.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class RunTask:
    run_hash: str
    case_id: str
    seed: int
    config: dict[str, Any]  # RunConfig.model_dump(mode="json"): plain data, picklable everywhere
    run_dir: str
    data_root: str | None = None
    device: str = "auto"
    threads: int | None = None  # torch threads for this run (None: leave torch's default)
    total_iterations: int | None = None  # for progress estimates before the run starts
    init_from: str | None = None  # a fine-tune: the run folder whose checkpoint it starts from
    members: list[RunTask] = field(default_factory=list)  # a seed group: these runs, trained together
    imports: list[str] = field(default_factory=list)  # plugin modules the worker imports first (plugins.py)
    plugin_paths: list[str] = field(default_factory=list)  # the folders they were found in
    study: str = ""  # the study's name and folder, for the loggers (train.loggers)
    study_dir: str | None = None

    @property
    def track(self) -> dict[str, Any]:
        return {"study": self.study or "ganstudy", "case": self.case_id, "study_dir": self.study_dir}

    @property
    def runs(self) -> list[RunTask]:
        """The runs this task trains: its members, or itself."""
        return self.members or [self]


@dataclass
class TaskOutcome:
    run_hash: str
    status: str  # complete, diverged, interrupted, failed, or busy (another process trains it)
    result: dict[str, Any] | None = None
    error: str | None = None
    disk_full: bool = False  # it failed because its disk is full: the machine's fault, not the run's
    host: str = field(default_factory=socket.gethostname)
    started: float = 0.0
    ended: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _clean_temporaries(run_dir: Path) -> None:
    """Temporary files of a write that a kill interrupted: never complete, safe to drop."""
    for tmp in run_dir.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def stack_task(members: list[RunTask]) -> RunTask:
    """One task training ``members`` (same config but the seed) seed-batched."""
    first = members[0]
    return RunTask(f"seeds-{first.run_hash}", first.case_id, first.seed, first.config, first.run_dir, first.data_root,
                   first.device, first.threads, first.total_iterations, members=list(members),
                   imports=first.imports, plugin_paths=first.plugin_paths, study=first.study,
                   study_dir=first.study_dir)


def run_task(task: RunTask, progress: ProgressFn | None = None,
             should_stop: Callable[[], bool] | None = None) -> list[TaskOutcome]:
    """Run a task; one outcome per run it trains. ``should_stop`` says the study was asked to
    stop (a worker's flag from its driver): the runs then save and stop as on Ctrl-C."""
    if task.imports:  # a fresh worker has not seen the driver's plugins
        from ..base.plugins import activate

        try:
            activate(task.imports, task.plugin_paths)
        except Exception as exc:  # noqa: BLE001 - every run of the task fails with the reason, the study goes on
            return [TaskOutcome(run.run_hash, Status.FAILED, error=_failed(Path(run.run_dir), exc)) for run in task.runs]
    return execute_group(task, progress, should_stop) if task.members else [execute(task, progress, should_stop)]


def _set_threads(task: RunTask) -> None:
    if task.threads:
        from ..machine.cores import use_threads

        use_threads(task.threads)


def _failed(run_dir: Path, exc: BaseException) -> str:
    """Keep the traceback in the run folder; return the one-line message."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        pass
    return f"{type(exc).__name__}: {exc}"


def execute_group(task: RunTask, progress: ProgressFn | None = None,
                  should_stop: Callable[[], bool] | None = None) -> list[TaskOutcome]:
    from ..spec.config import RunConfig
    from ..training.stack import train_stack

    _set_threads(task)
    started = time.time()
    runs = task.members
    callbacks = [None if progress is None else
                 (lambda done, total, row, h=run.run_hash: progress(h, done, total)) for run in runs]
    try:
        with ExitStack() as locks:
            for run in runs:
                locks.enter_context(run_lock(run.run_dir))
                _clean_temporaries(Path(run.run_dir))
            results = train_stack([RunConfig.model_validate(r.config) for r in runs], [r.run_dir for r in runs],
                                       data_root=task.data_root, device=task.device, progress=callbacks,
                                       track=[run.track for run in runs], should_stop=should_stop)
    except RunBusy as exc:
        return [TaskOutcome(run.run_hash, Status.BUSY, error=str(exc), started=started, ended=time.time()) for run in runs]
    except Exception as exc:  # noqa: BLE001 - the group's failure is every member's outcome
        messages = [_failed(Path(run.run_dir), exc) for run in runs]
        full = disk_full(exc, Path(runs[0].run_dir))
        return [TaskOutcome(run.run_hash, Status.FAILED, error=m, disk_full=full, started=started, ended=time.time())
                for run, m in zip(runs, messages)]
    return [TaskOutcome(run.run_hash, r.status, r.to_json(), started=started, ended=time.time())
            for run, r in zip(runs, results)]


def execute(task: RunTask, progress: ProgressFn | None = None,
            should_stop: Callable[[], bool] | None = None) -> TaskOutcome:
    from ..spec.config import RunConfig
    from ..training.trainer import CorruptRun, Trainer

    _set_threads(task)
    started = time.time()
    run_dir = Path(task.run_dir)
    callback = None
    if progress is not None:
        callback = lambda done, total, row: progress(task.run_hash, done, total)  # noqa: E731
    try:
        cfg = RunConfig.model_validate(task.config)
        with run_lock(run_dir):
            _clean_temporaries(run_dir)
            try:
                result = Trainer(cfg, run_dir, data_root=task.data_root, device=task.device, progress=callback,
                                 init_from=task.init_from, track=task.track, should_stop=should_stop).run(resume=True)
            except CorruptRun:
                # A damaged or foreign checkpoint cannot be continued: redo the run from scratch.
                for item in run_dir.iterdir():
                    if item.name != RUN_LOCK:
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
                result = Trainer(cfg, run_dir, data_root=task.data_root, device=task.device, progress=callback,
                                 init_from=task.init_from, track=task.track, should_stop=should_stop).run()
        return TaskOutcome(task.run_hash, result.status, result.to_json(), started=started, ended=time.time())
    except RunBusy as exc:  # another process trains it (a study left running elsewhere): not a failure
        return TaskOutcome(task.run_hash, Status.BUSY, error=str(exc), started=started, ended=time.time())
    except Exception as exc:  # noqa: BLE001 - a run's failure is an outcome, not the study's crash
        return TaskOutcome(task.run_hash, Status.FAILED, error=_failed(run_dir, exc), disk_full=disk_full(exc, run_dir),
                           started=started, ended=time.time())


def disk_full(exc: BaseException, run_dir: Path) -> bool:
    """Did ``exc`` come from a full disk? An OSError ENOSPC anywhere in its chain (torch's
    writer wraps it in a RuntimeError), or a disk with (almost) nothing left where the run writes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return shutil.disk_usage(run_dir if run_dir.exists() else run_dir.parent).free < 2**20
    except OSError:
        return False


def worker_threads(workers: int) -> int:
    """Split the machine's cores between ``workers`` concurrent runs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(workers, 1))
