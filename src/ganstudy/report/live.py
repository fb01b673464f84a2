"""The report while a study runs: rewritten as runs end, marked "partial: N of M runs".

``ganstudy run`` (and :func:`ganstudy.run`) hands :class:`LiveReport` to the runner, which
calls it whenever a run ends; ``ganstudy report DIR --watch`` polls a study running
elsewhere (another terminal, a Ray cluster writing to a shared folder). Both write only
when the report's inputs changed, and a rewrite is cheap: figures are redrawn only for the
cases whose runs changed (:func:`.figures.memo`). The study pays at most a small share of
its time: a rewrite waits until ``share`` of the time since the last one has gone to it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..base.errors import GanstudyError
from .write import is_current, write_report


class LiveReport:
    def __init__(self, share: float = 0.1, min_interval: float = 2.0) -> None:
        self.share = share  # the most of the study's time that rewriting may take
        self.min_interval = min_interval
        self.last_end = 0.0
        self.cost = 0.0
        self.failed = False
        self.pending = False  # a run ended while a rewrite was too recent: write at the next tick

    def __call__(self, study_dir: Path) -> None:
        """A run has ended: rewrite the report, unless the last rewrite was too recent (then the
        next :meth:`tick` does, so the runs that end together at a round's end are all shown)."""
        now = time.monotonic()
        if self.failed or now - self.last_end < max(self.min_interval, self.cost / self.share):
            self.pending = not self.failed
            return
        self.pending = False
        try:
            if not is_current(study_dir):
                write_report(study_dir)
        except (GanstudyError, OSError) as exc:  # the study goes on; its final report says what is wrong
            print(f"warning: the live report could not be written ({exc}); it is written again when the study ends",
                  file=sys.stderr)
            self.failed = True
        self.last_end = time.monotonic()
        self.cost = self.last_end - now

    def tick(self, study_dir: Path) -> None:
        """Called often (while the executor waits): write what an earlier call held back."""
        if self.pending:
            self(study_dir)


def watch(study_dir: str | Path, every: float = 10.0,
          say: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep,
          rounds: int | None = None) -> int:
    """Keep ``study_dir``'s report current until every run the study needs has ended."""
    from .collect import StudyResults

    said = ""
    for _ in range(rounds) if rounds is not None else iter(int, 1):
        res: StudyResults | None = None
        if not is_current(study_dir):
            res, folder = write_report(study_dir)
            line = (res.partial_text.split(".")[0] if res.partial else "complete") + f": {res.summary}"
            if line != said:
                say(f"{time.strftime('%H:%M:%S')} report written ({line}) -> {folder / 'report.html'}")
                said = line
            if not res.partial:
                return 0
        elif "Partial:" not in (Path(study_dir) / "report" / "report.md").read_text(encoding="utf-8"):
            say(f"the report is current and the study has ended: {Path(study_dir) / 'report' / 'report.html'}")
            return 0
        sleep(every)
    return 0
