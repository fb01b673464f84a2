"""Executors run :class:`~ganstudy.tasks.RunTask` s and report outcomes as they arrive.

One interface for all of them: ``run(tasks, on_start, on_outcome, on_progress, should_stop)``.
Heavy backends are imported only when chosen: ``create("ray")`` imports Ray, nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..errors import GanstudyError
from ..tasks import ProgressFn, RunTask, TaskOutcome


class Executor(Protocol):
    name: str

    def run(
        self,
        tasks: list[RunTask],
        on_start: Callable[[RunTask], None],
        on_outcome: Callable[[TaskOutcome], None],
        on_progress: ProgressFn,
        should_stop: Callable[[], bool],
    ) -> None: ...


_FACTORIES: dict[str, Callable[..., Executor]] = {}


def register(name: str, factory: Callable[..., Executor]) -> None:
    _FACTORIES[name] = factory


def names() -> list[str]:
    return sorted(_FACTORIES)


def create(name: str, **options: Any) -> Executor:
    if name not in _FACTORIES:
        raise GanstudyError(f"--executor {name!r}: unknown executor; available: {', '.join(names())}.")
    return _FACTORIES[name](**options)


def _local(**options: Any) -> Executor:
    from .local import LocalExecutor

    return LocalExecutor(**options)


register("local", _local)
