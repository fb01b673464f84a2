"""Executors run :class:`~ganstudy.execution.tasks.RunTask` s and report outcomes as they arrive.

One interface for all of them: ``slots()`` and ``run(tasks, on_start, on_outcome, on_progress, should_stop)``.
Heavy backends are imported only when chosen: ``create("ray")`` imports Ray, nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..base.errors import GanstudyError
from ..base.registry import Registry
from .tasks import ProgressFn, RunTask, TaskOutcome


class Executor(Protocol):
    name: str

    def slots(self) -> int:
        """How many tasks can run at once (seed groups are split until each slot has one)."""
        ...

    def run(
        self,
        tasks: list[RunTask],
        on_start: Callable[[RunTask], None],
        on_outcome: Callable[[TaskOutcome], None],
        on_progress: ProgressFn,
        should_stop: Callable[[], bool],
    ) -> None: ...


EXECUTORS: Registry[Callable[..., Executor]] = Registry("executor", group="ganstudy.executors")
names = EXECUTORS.names


def register(name: str, factory: Callable[..., Executor]) -> None:
    EXECUTORS.register(name, factory)


def create(name: str, **options: Any) -> Executor:
    if name not in names():
        raise GanstudyError(f"--executor {name!r}: unknown executor; available: {', '.join(names())}.")
    return EXECUTORS.get(name)(**options)


@EXECUTORS.decorator("local")
def _local(**options: Any) -> Executor:
    from .local import LocalExecutor

    return LocalExecutor(**options)


@EXECUTORS.decorator("ray")
def _ray(**options: Any) -> Executor:
    from .ray import RayExecutor  # Ray itself is imported only here, only when chosen

    return RayExecutor(**options)
