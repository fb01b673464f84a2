"""The local executor: runs in this process one after another, or in N worker processes.

With ``workers > 1`` each worker is a fresh (spawned) process whose torch uses its share
of the cores, so N runs at once do not fight over threads. Workers ignore Ctrl-C outside a
run; inside a run the trainer's own handler saves a checkpoint and returns ``interrupted``.
A Ctrl-C that reaches the driver alone (``kill -INT``, a job scheduler's signal) stops the
running runs the same way, through a flag the workers share, handed to each task (``run_task(should_stop=)``).

Workers never outlive the study: each asks the kernel to kill it when its parent dies
(Linux) and watches its parent besides, so a ``kill -9`` of ``ganstudy run`` leaves no
orphan training beside the next one. A worker that dies (killed, out of memory) breaks the
pool; its tasks go back in the queue, to resume from their checkpoints in a new pool, and
are then run alone, so a task that kills its worker again fails by itself and no innocent
task beside it is charged.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from ..base.status import Status
from .tasks import ProgressFn, RunTask, TaskOutcome, run_task, worker_threads

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event as StopFlag

_progress_queue: mp.Queue | None = None
_should_stop: Callable[[], bool] | None = None  # this worker's view of the driver's stop flag (set by _init_worker)
#: A task whose worker died this many times is a failure (it is run alone after the first).
MAX_DEATHS = 2


def die_with_parent() -> None:
    """End this process when the process that started it ends, however it ends."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)

    def watch() -> None:  # elsewhere (and in case the parent died before prctl): poll
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="ganstudy-parent-watch").start()


def _init_worker(progress_queue: mp.Queue, stop: StopFlag, threads: int) -> None:
    global _progress_queue, _should_stop
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress_queue = progress_queue
    _should_stop = stop.is_set  # the driver was asked to stop: each run saves and stops
    from ..machine.cores import use_threads

    use_threads(threads)


def _report(run_hash: str, done: int, total: int) -> None:
    if _progress_queue is not None and (done == total or done % 10 == 0):
        _progress_queue.put((run_hash, done, total))


def _execute_in_worker(task: RunTask) -> list[TaskOutcome]:
    return run_task(task, _report, _should_stop)


def death_cause(pool: ProcessPoolExecutor) -> str:
    """Why a pool's worker died, from its exit status: a signal by name (SIGKILL is what the
    kernel's out-of-memory killer sends), else the code it exited with. The pool keeps its
    processes after it breaks; reading them is the only place the status is."""
    codes = [p.exitcode for p in (getattr(pool, "_processes", None) or {}).values() if p.exitcode]
    if not codes:
        return "killed, or out of memory"
    code = codes[0]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "a signal"
        why = ": most often the kernel's out-of-memory killer" if -code == signal.SIGKILL else ""
        return f"killed by {name} (signal {-code}{why}; `dmesg` says if memory ran out)"
    return f"it exited with status {code}"


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def slots(self) -> int:
        return self.workers

    def run(self, tasks: list[RunTask], on_start: Callable[[RunTask], None],
            on_outcome: Callable[[TaskOutcome], None], on_progress: ProgressFn,
            should_stop: Callable[[], bool]) -> None:
        if self.workers == 1:
            for task in tasks:
                if should_stop():
                    return
                on_start(task)
                outcomes = run_task(task, on_progress)
                for outcome in outcomes:
                    on_outcome(outcome)
                if any(o.status == Status.INTERRUPTED for o in outcomes):
                    return
            return
        todo, deaths = list(tasks), {}
        while todo and not should_stop():  # a new pool after each one a dead worker broke
            self._run_pool(todo, deaths, on_start, on_outcome, on_progress, should_stop)

    def _run_pool(self, todo: list[RunTask], deaths: dict[str, int], on_start, on_outcome, on_progress,
                  should_stop) -> None:
        ctx = mp.get_context("spawn")  # no fork: torch's thread pools do not survive a fork
        progress_queue, stop = ctx.Queue(), ctx.Event()
        threads = worker_threads(self.workers)
        running: dict[Future, RunTask] = {}
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(progress_queue, stop, threads)) as pool:
            try:
                while todo or running:
                    stopping = should_stop()  # once a round: it also ticks the live report
                    if stopping:  # Ctrl-C, maybe at the driver alone: the running tasks stop too
                        stop.set()
                    while todo and not stopping and self._may_start(todo[0], running, deaths):
                        task = todo.pop(0)
                        task.threads = threads
                        on_start(task)
                        running[pool.submit(_execute_in_worker, task)] = task
                    if not running:
                        break
                    done, _ = wait(list(running), timeout=0.25, return_when=FIRST_COMPLETED)
                    self._drain(progress_queue, on_progress)
                    for future in done:
                        task = running.pop(future)
                        try:
                            outcomes = future.result()
                        except BrokenProcessPool:
                            # A worker died; every task in the pool went with it. Back in the queue,
                            # from their checkpoints, in a new pool; alone from now on.
                            cause = death_cause(pool)
                            for lost in [task, *running.values()]:
                                deaths[lost.run_hash] = deaths.get(lost.run_hash, 0) + 1
                                if deaths[lost.run_hash] >= MAX_DEATHS:
                                    for outcome in self._died(lost, cause):
                                        on_outcome(outcome)
                                else:
                                    todo.insert(0, lost)
                            running.clear()
                            pool.shutdown(wait=False, cancel_futures=True)
                            return
                        except Exception as exc:  # noqa: BLE001 - anything else a worker could not send back
                            outcomes = [TaskOutcome(run.run_hash, Status.FAILED, error=f"worker error: {exc}")
                                        for run in task.runs]
                        for outcome in outcomes:
                            on_outcome(outcome)
                        if any(o.status == Status.INTERRUPTED for o in outcomes):
                            todo.clear()
            finally:  # however this pool ends (a second Ctrl-C too), its running runs save and stop
                stop.set()
            self._drain(progress_queue, on_progress)

    def _may_start(self, task: RunTask, running: dict[Future, RunTask], deaths: dict[str, int]) -> bool:
        """A free slot, and no suspect: a task whose worker died once runs alone."""
        suspect = deaths.get(task.run_hash, 0) > 0
        alone_now = any(deaths.get(t.run_hash, 0) > 0 for t in running.values())
        return not alone_now and (not running if suspect else len(running) < self.workers)

    @staticmethod
    def _died(task: RunTask, cause: str) -> list[TaskOutcome]:
        return [TaskOutcome(run.run_hash, Status.FAILED, ended=time.time(),
                            error=f"its worker process died {MAX_DEATHS} times while training it, the last time "
                                  f"alone ({cause}); its checkpoint is kept")
                for run in task.runs]

    @staticmethod
    def _drain(progress_queue: mp.Queue, on_progress: ProgressFn) -> None:
        while True:
            try:
                on_progress(*progress_queue.get_nowait())
            except queue.Empty:
                return
