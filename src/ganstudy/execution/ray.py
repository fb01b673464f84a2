"""The Ray executor: each run is a Ray task with its own CPUs (and GPUs), on a local Ray
instance or on a cluster (``--address``). Ray is an optional extra, imported only here.

Where results land:

- **Shared filesystem** (the default on a local instance, ``shared_fs=True``): workers
  write straight into the study folder, checkpoints included. A worker killed mid-run is
  retried by Ray and resumes from its last checkpoint.
- **No shared filesystem** (the default with ``--address``): the task receives the run
  folder as it is in the store (so an interrupted run resumes), trains in a temporary
  folder on the worker, and returns the whole folder, which the driver unpacks into the
  study folder. A worker killed mid-run is retried from what the store had when the task
  was sent.

Either way a driver killed mid-study resumes with ``ganstudy run`` again, as locally.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base.errors import GanstudyError
from ..base.status import Status
from .tasks import ProgressFn, RunTask, TaskOutcome, run_task


def pack(folder: Path) -> bytes:
    """A run folder as an uncompressed tar (checkpoints are already compact)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if folder.is_dir():
            tar.add(folder, arcname=".")
    return buffer.getvalue()


def unpack(blob: bytes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r") as tar:
        tar.extractall(folder, filter="data")  # no absolute paths, links out of the folder or devices


def run_on_worker(task: RunTask, payload: dict[str, bytes] | None) -> tuple[list[TaskOutcome], dict[str, bytes] | None]:
    """What a Ray worker executes: the same :func:`run_task` as every executor. Without a
    shared filesystem, ``payload`` holds each run's folder (by run hash) and so does the reply."""
    if payload is None:
        return run_task(task), None
    with tempfile.TemporaryDirectory(prefix="ganstudy-") as tmp:
        for i, run in enumerate(task.runs):
            local = Path(tmp) / f"run{i}"
            unpack(payload[run.run_hash], local)
            run.run_dir = str(local)
        outcomes = run_task(task)
        return outcomes, {run.run_hash: pack(Path(run.run_dir)) for run in task.runs}


class RayExecutor:
    name = "ray"

    def __init__(self, workers: int = 1, address: str | None = None, cpus_per_run: float = 1,
                 gpus_per_run: float = 0, shared_fs: bool | None = None, max_retries: int = 3) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise GanstudyError(
                "--executor ray needs Ray, an optional extra: pip install 'ganstudy[ray]' (or pip install ray)."
            ) from None
        if cpus_per_run <= 0 or gpus_per_run < 0:
            raise GanstudyError("--cpus-per-run must be > 0 and --gpus-per-run >= 0.")
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.gpus_per_run = gpus_per_run
        self.shared_fs = (address is None) if shared_fs is None else shared_fs
        self.max_retries = max_retries

    def slots(self) -> int:
        """Runs the cluster can hold at once with these per-run resources."""
        import ray

        self._connect()
        total = ray.cluster_resources()
        fit = [total.get("CPU", 1) / self.cpus_per_run]
        if self.gpus_per_run:
            fit.append(total.get("GPU", 0) / self.gpus_per_run)
        return max(1, int(min(fit)))

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        if self.address:
            options["address"] = self.address
        try:
            ray.init(**options)
        except ConnectionError as exc:
            raise GanstudyError(f"--address {self.address}: cannot reach a Ray cluster there ({exc}).") from None

    def run(self, tasks: list[RunTask], on_start: Callable[[RunTask], None],
            on_outcome: Callable[[TaskOutcome], None], on_progress: ProgressFn,
            should_stop: Callable[[], bool]) -> None:
        import ray

        self._connect()
        remote = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run,
                            max_retries=self.max_retries)(run_on_worker)
        pending: dict[Any, RunTask] = {}
        for task in tasks:
            task.threads = max(1, int(self.cpus_per_run))
            if self.gpus_per_run and task.device == "auto":
                task.device = "cuda"
            payload = None if self.shared_fs else {run.run_hash: pack(Path(run.run_dir)) for run in task.runs}
            pending[remote.remote(task, payload)] = task
            on_start(task)
        cancelled = False
        while pending:
            if should_stop() and not cancelled:
                for ref in pending:
                    ray.cancel(ref, force=False)  # queued tasks never start; running ones may finish
                cancelled = True
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if self.shared_fs:
                self._poll_progress(pending.values(), on_progress)
            for ref in ready:
                task = pending.pop(ref)
                for outcome in self._collect(ref, task):
                    on_outcome(outcome)

    @staticmethod
    def _collect(ref: Any, task: RunTask) -> list[TaskOutcome]:
        import ray

        try:
            outcomes, blobs = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return [TaskOutcome(run.run_hash, Status.INTERRUPTED, error="cancelled before it ended") for run in task.runs]
        except ray.exceptions.RayError as exc:  # the worker died more often than Ray retries
            return [TaskOutcome(run.run_hash, Status.FAILED, error=f"Ray task failed: {type(exc).__name__}: {exc}",
                                ended=time.time()) for run in task.runs]
        for run in task.runs:
            if blobs is not None:
                unpack(blobs[run.run_hash], Path(run.run_dir))
        return outcomes

    @staticmethod
    def _poll_progress(tasks: Any, on_progress: ProgressFn) -> None:
        for task in (run for t in tasks for run in t.runs):
            try:
                st = json.loads((Path(task.run_dir) / "status.json").read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                continue
            if st.get("state") == Status.RUNNING:
                on_progress(task.run_hash, int(st.get("iteration", 0)), int(st.get("total_iterations") or 1))

