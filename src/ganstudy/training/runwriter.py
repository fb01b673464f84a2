"""What a run writes in its folder as it trains, besides checkpoints: ``status.json`` (where
it stands, for ``ganstudy status`` and the index), sample grids, ``eval.jsonl`` (scores as
they are measured) and, after a resume, the logs trimmed back to the checkpoint.

``runfolder.py`` reads a run folder back; this module writes one. Every file is written
atomically or appended a line at a time, so a kill leaves nothing half-written."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..base.atomic import read_jsonl, write_json, write_text
from ..tracking.registry import Tracker
from .images import save_grid


class RunWriter:
    def __init__(self, folder: Path, tracker: Callable[[], Tracker | None]) -> None:
        self.dir = folder
        self._tracker = tracker  # the run's loggers, opened when first needed

    def status(self, state: str, iteration: int, total: int, **extra: Any) -> None:
        write_json(self.dir / "status.json", {
            "state": state, "iteration": iteration, "total_iterations": total,
            "updated": time.time(), "host": socket.gethostname(), "pid": os.getpid(), **extra,
        })

    def samples(self, images: np.ndarray, iteration: int, grid_size: int) -> None:
        path = self.dir / "samples" / f"iter_{iteration:06d}.png"
        save_grid(images, path, grid_size)
        if (tracker := self._tracker()) is not None:
            tracker.image(iteration + 1, "samples", path)

    def scores(self, done: int, scored: dict[str, Any], final: bool, curve: bool = False) -> None:
        row = {"iteration": done, "final": final, **({"curve": True} if curve else {}), **scored["metrics"],
               "protocol": scored["protocol"]["id"]}
        with open(self.dir / "eval.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if (tracker := self._tracker()) is not None:
            tracker.scalars(done, scored["metrics"], "final/" if final else "eval/")

    def trim_logs(self, done: int, total: int) -> None:
        """After a resume, drop log lines past the checkpoint: those iterations run again.
        (metrics.jsonl counts iterations from 0; eval.jsonl counts iterations done, and its
        final evaluation runs again whenever the run is resumed.)"""
        for name, keep in (("metrics.jsonl", lambda r: r.get("iteration", -1) < done),
                           ("eval.jsonl", lambda r: r.get("iteration", -1) <= done and not r.get("final")
                            and not (r.get("curve") and r.get("iteration") == total))):
            path = self.dir / name
            rows = [r for r in read_jsonl(path) if keep(r)]
            write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
