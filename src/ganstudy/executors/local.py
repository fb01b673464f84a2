"""The local executor: runs in this process one after another, or in N worker processes.

With ``workers > 1`` each worker is a fresh (spawned) process whose torch uses its share
of the cores, so N runs at once do not fight over threads. Workers ignore Ctrl-C outside a
run; inside a run the trainer's own handler saves a checkpoint and returns ``interrupted``.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ..tasks import ProgressFn, RunTask, TaskOutcome, run_task, worker_threads

_progress_queue: mp.Queue | None = None


def _init_worker(progress_queue: mp.Queue, threads: int) -> None:
    global _progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress_queue = progress_queue
    import torch

    torch.set_num_threads(threads)


def _report(run_hash: str, done: int, total: int) -> None:
    if _progress_queue is not None and (done == total or done % 10 == 0):
        _progress_queue.put((run_hash, done, total))


def _execute_in_worker(task: RunTask) -> list[TaskOutcome]:
    return run_task(task, _report)


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
                if any(o.status == "interrupted" for o in outcomes):
                    return
            return
        self._run_pool(tasks, on_start, on_outcome, on_progress, should_stop)

    def _run_pool(self, tasks, on_start, on_outcome, on_progress, should_stop) -> None:
        ctx = mp.get_context("spawn")  # no fork: torch's thread pools do not survive a fork
        progress_queue = ctx.Queue()
        threads = worker_threads(self.workers)
        todo = list(tasks)
        running: dict[Future, RunTask] = {}
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(progress_queue, threads)) as pool:
            while todo or running:
                while todo and len(running) < self.workers and not should_stop():
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
                    except Exception as exc:  # noqa: BLE001 - a worker that died (killed, out of memory)
                        outcomes = [TaskOutcome(run.run_hash, "failed", error=f"worker process died: {exc}")
                                    for run in task.runs]
                    for outcome in outcomes:
                        on_outcome(outcome)
                    if any(o.status == "interrupted" for o in outcomes):
                        todo.clear()
            self._drain(progress_queue, on_progress)

    @staticmethod
    def _drain(progress_queue: mp.Queue, on_progress: ProgressFn) -> None:
        while True:
            try:
                on_progress(*progress_queue.get_nowait())
            except queue.Empty:
                return
