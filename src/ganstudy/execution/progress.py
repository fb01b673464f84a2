"""One live view of a whole study: runs done / running / left, the current runs'
iterations and rate, and the time left. On a terminal it is a tqdm bar over all pending
iterations; otherwise (a log file, CI) it prints plain lines."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..base.status import Status
from .tasks import RunTask, TaskOutcome

ETA_WINDOW = 180.0  # seconds of iteration rate behind the time left


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
        self._rates: list[tuple[float, int]] = []  # (time, iterations done) since the first progress: the time left
        self.bar = None
        if title:  # e.g. the round of an adaptive study
            print(title, file=self.stream, flush=True)
        if self.live:
            from tqdm import tqdm

            # tqdm's own time left swings with every run that starts or ends: ours is in the postfix
            self.bar = tqdm(total=sum(self.totals.values()), unit="it", dynamic_ncols=True, file=self.stream,
                            mininterval=0.5, desc=self._desc(),
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} it [{elapsed}{postfix}]")

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
            self.bar.set_postfix_str(f"{self._time_left()}; {rates}", refresh=False)
        elif time.monotonic() - self._last_line > 30:
            self._print(f"  {self.labels[run_hash]}: iteration {done}/{total}, {self.rate.get(run_hash, 0):.1f} it/s, "
                        f"study {self._eta()}")

    def _time_left(self) -> str:
        """From the iteration rate of the last few minutes: not since the start, which counts
        start-up, nor of the last seconds, which swing as runs start and end."""
        done, total = sum(self.done_iters.values()), sum(self.totals.values())
        now = time.monotonic()
        if done and (not self._rates or now - self._rates[-1][0] >= 1):
            self._rates.append((now, done))
        while len(self._rates) > 2 and now - self._rates[1][0] > ETA_WINDOW:
            self._rates.pop(0)
        if not self._rates or now - self._rates[0][0] < 10 or done == self._rates[0][1]:
            return "time left: measuring"
        then, done_then = self._rates[0]
        return f"about {_fmt_seconds((total - done) * (now - then) / (done - done_then))} left"

    def _eta(self) -> str:
        done, total = sum(self.done_iters.values()), sum(self.totals.values())
        return f"{100 * done / max(total, 1):.0f}% done, {self._time_left()}"

    def ended(self, outcome: TaskOutcome) -> None:
        self.running.pop(outcome.run_hash, None)
        if outcome.status != Status.INTERRUPTED:
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
