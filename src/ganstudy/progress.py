"""One live view of a whole study: runs done / running / left, the current runs'
iterations and rate, and the time left. On a terminal it is a tqdm bar over all pending
iterations; otherwise (a log file, CI) it prints plain lines."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .tasks import RunTask, TaskOutcome


def _fmt_seconds(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class StudyProgress:
    def __init__(self, tasks: list[RunTask], labels: dict[str, str], *, live: bool | None = None,
                 stream: TextIO | None = None, title: str | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.labels = labels  # run hash -> "case seed N"
        self.totals = {t.run_hash: t.total_iterations or 1 for t in tasks}
        self.done_iters = {t.run_hash: 0 for t in tasks}
        self.runs_total = len(tasks)
        self.runs_done = 0
        self.running: dict[str, float] = {}  # run hash -> start time
        self.rate: dict[str, float] = {}
        self.t0 = time.monotonic()
        self._last_line = 0.0
        self.bar = None
        if title:  # e.g. the round of an adaptive study
            print(title, file=self.stream, flush=True)
        if self.live:
            from tqdm import tqdm

            self.bar = tqdm(total=sum(self.totals.values()), unit="it", dynamic_ncols=True, file=self.stream,
                            mininterval=0.5, desc=self._desc())

    def _desc(self) -> str:
        left = self.runs_total - self.runs_done - len(self.running)
        return f"runs {self.runs_done}/{self.runs_total} done, {len(self.running)} running, {left} left"

    def started(self, task: RunTask) -> None:
        self.running[task.run_hash] = time.monotonic()
        if self.bar is not None:
            self.bar.set_description(self._desc(), refresh=False)
        else:
            self._print(f"[{self.runs_done + len(self.running)}/{self.runs_total}] start {self.labels[task.run_hash]}")

    def progress(self, run_hash: str, done: int, total: int) -> None:
        if run_hash not in self.totals:
            return
        self.totals[run_hash] = total
        step = done - self.done_iters[run_hash]
        self.done_iters[run_hash] = done
        if run_hash in self.running:
            elapsed = time.monotonic() - self.running[run_hash]
            self.rate[run_hash] = done / elapsed if elapsed > 0 else 0.0
        if self.bar is not None:
            self.bar.total = sum(self.totals.values())
            self.bar.update(max(step, 0))
            rates = " ".join(f"{self.labels[h]} {self.done_iters[h]}/{self.totals[h]} {self.rate.get(h, 0):.0f}it/s"
                             for h in self.running)
            self.bar.set_postfix_str(rates, refresh=False)
        elif time.monotonic() - self._last_line > 30:
            self._print(f"  {self.labels[run_hash]}: iteration {done}/{total}, {self.rate.get(run_hash, 0):.1f} it/s, "
                        f"study {self._eta()}")

    def _eta(self) -> str:
        done = sum(self.done_iters.values())
        total = sum(self.totals.values())
        elapsed = time.monotonic() - self.t0
        if done == 0:
            return "starting"
        return f"{100 * done / total:.0f}% done, about {_fmt_seconds(elapsed * (total - done) / done)} left"

    def ended(self, outcome: TaskOutcome) -> None:
        self.running.pop(outcome.run_hash, None)
        if outcome.status != "interrupted":
            self.runs_done += 1
            self.progress(outcome.run_hash, self.totals.get(outcome.run_hash, 0), self.totals.get(outcome.run_hash, 0))
        label = self.labels.get(outcome.run_hash, outcome.run_hash)
        summary = (outcome.result or {}).get("summary") or outcome.error or ""
        wall = (outcome.result or {}).get("wall_seconds")
        text = f"{label}: {outcome.status}" + (f" in {wall:.1f}s" if wall else "") + (f"  {summary}" if summary else "")
        if self.bar is not None:
            self.bar.set_description(self._desc(), refresh=False)
            self.bar.write(text, file=self.stream)
        else:
            self._print(f"[{self.runs_done}/{self.runs_total}] {text}; study {self._eta()}")

    def _print(self, text: str) -> None:
        self._last_line = time.monotonic()
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
