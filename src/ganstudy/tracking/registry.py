"""Tracking: each run's losses, metrics and sample grids, written as it trains to the tools a
user already watches (``train.loggers = ["tensorboard", "mlflow"]``; off by default).

A logger is made per run with a :class:`TrackedRun` (study, case, seed, run hash, folders) and
gets ``scalars`` / ``image`` / ``close`` calls from the trainer. Loggers are optional extras,
imported only when a run asks for one; :func:`check` says before anything trains which
library is missing and how to install it. Logging never changes the run hash: it changes
what is shown, not what is computed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..base.errors import ConfigError
from ..base.registry import Registry


@dataclass
class TrackedRun:
    study: str  # a study's name ("ganstudy-train" for a lone run): MLflow's experiment
    case: str
    seed: int
    run_hash: str
    run_dir: Path
    study_dir: Path | None  # where study-wide stores live (MLflow's database); None for a lone run
    config: dict[str, Any] = field(default_factory=dict)  # the flat resolved config
    start: int = 0  # iterations done when this process took the run up (a resume)

    @property
    def name(self) -> str:
        return f"{self.case} seed {self.seed}"


class RunLogger(Protocol):
    def scalars(self, step: int, values: dict[str, float], prefix: str = "") -> None: ...
    def image(self, step: int, tag: str, png: Path) -> None: ...
    def close(self, status: str) -> None: ...


@dataclass(frozen=True)
class LoggerSpec:
    name: str
    make: Callable[[TrackedRun], RunLogger]
    needs: tuple[str, ...]  # modules it imports
    install: str  # how to get them
    prepare: Callable[[str, Path], None] | None = None  # (study, study folder): shared stores made once, by the driver


LOGGERS: Registry[LoggerSpec] = Registry("logger", group="ganstudy.loggers")  # W&B etc. as plugins
names = LOGGERS.names


def register(spec: LoggerSpec) -> LoggerSpec:
    return LOGGERS.register(spec.name, spec)


def check(loggers: list[str], source: str = "train.loggers") -> None:
    """Each named logger exists and its library is installed (before anything trains)."""
    for name in loggers:
        spec = LOGGERS.get(name)
        missing = [m for m in spec.needs if importlib.util.find_spec(m) is None]
        if missing:
            raise ConfigError(f"{source} = {loggers}: the {name} logger needs {', '.join(missing)}, which is not "
                              f"installed ({spec.install}).")


def prepare(loggers: list[str], study: str, study_dir: Path) -> None:
    """Make a study's shared stores (MLflow's database and experiment) once, in the driver,
    so that workers starting together do not race to create them."""
    for name in loggers:
        spec = LOGGERS.get(name)
        if spec.prepare is not None:
            spec.prepare(study, study_dir)


class Tracker:
    """Every logger a run asked for, called together; nothing at all when it asked for none."""

    def __init__(self, loggers: list[str], info: TrackedRun) -> None:
        check(loggers)
        self.loggers = [LOGGERS.get(name).make(info) for name in loggers]

    def scalars(self, step: int, values: dict[str, Any], prefix: str = "") -> None:
        numbers = {k: float(v) for k, v in values.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "iteration"}
        for logger in self.loggers:
            logger.scalars(step, numbers, prefix)

    def image(self, step: int, tag: str, png: Path) -> None:
        for logger in self.loggers:
            logger.image(step, tag, png)

    def close(self, status: str) -> None:
        for logger in self.loggers:
            logger.close(status)
