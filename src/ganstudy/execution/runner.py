"""Run a study: plan, skip what is done, resume what was interrupted, dispatch the rest.

``run_study`` is what ``ganstudy run`` calls. It holds the study folder's lock, records
every run in the index as it starts and ends, and returns a summary. Runs that train alike
(same run hash) run once and are shared by every case that asks for them.
"""

from __future__ import annotations

import errno
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..base.errors import GanstudyError
from ..base.status import ENDED, Status
from ..spec.study import Study
from ..stats.design import Design
from ..storage.index import MAX_ATTEMPTS, RunRecord, StudyStore
from ..storage.results import n_classes, study_table
from ..storage.studyfolder import open_study, run_label, save_study
from ..training.runfolder import scoring_changed
from ..verdicts.rounds import same_as_baseline, seeds_needed
from . import preflight
from .executors import create as create_executor
from .progress import StudyProgress
from .tasks import RunTask, TaskOutcome, stack_task, worker_threads


@dataclass
class StudySummary:
    study: str
    out: Path
    runs: int  # distinct runs in the plan
    skipped: int  # already ended before this invocation
    counts: Counter = field(default_factory=Counter)  # outcome -> runs, for this invocation
    gave_up: list[str] = field(default_factory=list)  # runs failed MAX_ATTEMPTS times
    busy: list[str] = field(default_factory=list)  # runs another process was training
    interrupted: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return self.skipped == self.runs and not self.gave_up


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How a study is run (none of it changes what a run computes): which seeds, how many
    processes where, which device, the overrides of every case, the live view, retries, and
    what is called as each run ends."""

    seeds: int | None = None  # seeds 0..N-1 instead of the study's
    max_seeds: int | None = None  # adaptive seeds up to N
    workers: int | str = 1  # or "auto"
    executor: str = "local"
    executor_options: dict[str, Any] | None = None
    data_root: str | Path | None = None
    device: str = "auto"
    overrides: list[str] | None = None  # --set strings applied to every case
    live: bool | None = None  # None: a live view on a terminal; False: plain lines
    max_attempts: int = MAX_ATTEMPTS
    retry_failed: bool = False
    on_run_end: Callable[[Path], None] | None = None  # the live report


def run_study(path: str | Path, out: str | Path | None = None, options: RunOptions | None = None,
              **changes: Any) -> StudySummary:
    """Train what the study needs. A fixed number of seeds is one round; adaptive seeds
    (``seeds = { min, max }``) take rounds: after each, the cases still undecided (and the
    baseline) get the next look's seeds, until every case is decided or has ``max``. Before
    anything trains, the data and the disk every run needs are checked (``preflight``);
    ``retry_failed`` gives runs that failed too often a new set of attempts; ``on_run_end(folder)``
    is called as each run ends (the live report). ``options`` (or keywords naming its fields)
    say how: see :class:`RunOptions`."""
    o = replace(options or RunOptions(), **changes)
    workers = o.workers
    study, out_dir, overrides = open_study(path, out, o.overrides, o.seeds, o.max_seeds)
    store = StudyStore(out_dir)
    with store.lock():
        save_study(study, out_dir, overrides)
        store.rebuild_index()  # the run folders are the truth; a killed driver left the index behind
        summary = StudySummary(study.meta.name, out_dir, 0, 0)
        design = study.design()
        classes = n_classes(study) if design.adaptive_ else 10
        ran: set[str] = set()
        gave_up: dict[str, str] = {}
        round_no = 0
        while True:  # a round (adaptive seeds), or fine-tunes whose source runs have just ended
            need = seeds_needed(study, [r.row for r in study_table(study, store)], classes) \
                if design.adaptive_ or any(p.finetune_from for p in study.cases) else None
            specs = study.runs(need)
            if o.retry_failed:
                _retry_failed(store, specs)
            waiting: list[str] = []
            tasks, labels = _tasks(store, study, specs, out_dir, o.data_root, o.device, o.max_attempts, gave_up, waiting)
            if tasks and round_no == 0:
                preflight.check([s for s in specs if s.run_hash in labels], out_dir, o.data_root)
                _prepare_loggers(study, specs, out_dir)
            round_no += 1
            summary.runs = len(specs)
            summary.skipped = sum(1 for spec in specs if spec.run_hash not in ran | set(labels) | set(gave_up) | set(waiting))
            if not tasks:
                break
            if workers == "auto":
                workers = auto_workers(len(tasks), o.device) if o.executor == "local" else 1
                if o.executor == "local":
                    threads = worker_threads(workers)
                    print(f"--workers auto: {workers} worker process{'es' if workers > 1 else ''}, "
                          f"{threads} torch thread{'s' if threads > 1 else ''} each", file=sys.stderr)
            title = _round_title(design, need, round_no, same_as_baseline(study)) if design.adaptive_ else None
            _dispatch(store, tasks, labels, summary, o.executor, {"workers": workers, **(o.executor_options or {})}, o.live,
                      title, o.on_run_end)
            ran.update(t.run_hash for t in tasks)
            if summary.interrupted or summary.counts.get(Status.FAILED) or summary.busy or (not design.adaptive_ and not waiting):
                break
        summary.gave_up = list(gave_up.values())
    return summary


def _retry_failed(store: StudyStore, specs: list) -> None:
    """Runs given up after repeated failures get a new set of attempts (the environment may
    have been fixed since: a data file put in place, space freed)."""
    for spec in specs:
        rec = store.get(spec.run_hash)
        if rec is not None and rec.status == Status.FAILED:
            rec.attempts, rec.error = 0, None
            store.record(rec)


def _tasks(store: StudyStore, study: Study, specs: list, out_dir: Path, data_root: str | Path | None, device: str,
           max_attempts: int, gave_up: dict[str, str], waiting: list[str]) -> tuple[list[RunTask], dict[str, str]]:
    """The runs of ``specs`` that have not ended (or must be scored again), as tasks; a
    fine-tune whose source run has not completed yet goes to ``waiting`` instead."""
    from ..base.plugins import paths

    tasks: list[RunTask] = []
    labels: dict[str, str] = {}
    imports = list(study.meta.imports)
    for spec in specs:
        rec = store.get(spec.run_hash) or RunRecord(
            spec.run_hash, store.folder_for(spec.case, spec.seed, spec.run_hash), spec.case, spec.seed,
            spec.config.config_hash(), Status.PENDING)
        for case_id in [spec.case, *spec.shared_with]:
            store.link(study.meta.name, case_id, spec.seed, spec.run_hash)
        state = store.inspect(rec)
        rescore = state == Status.COMPLETE and scoring_changed(store.run_dir(rec), spec.config)
        if state in ENDED and not rescore:
            continue
        if rec.status == Status.FAILED and rec.attempts >= max_attempts:
            gave_up[spec.run_hash] = f"{rec.path}: {rec.error}"
            continue
        source = store.get(spec.init_from) if spec.init_from else None
        if spec.init_from and (source is None or store.inspect(source) != Status.COMPLETE):
            waiting.append(spec.run_hash)  # it starts from a run that has not completed (yet)
            continue
        rec.status = state if rec.status != Status.FAILED else Status.FAILED
        store.record(rec)
        labels[spec.run_hash] = run_label(spec.case, spec.seed)
        t = spec.config.train
        tasks.append(RunTask(spec.run_hash, spec.case, spec.seed, spec.config.model_dump(mode="json"),
                             str(store.run_dir(rec).resolve()), str(data_root) if data_root else None, device,
                             total_iterations=t.iterations or t.epochs,
                             init_from=str(store.run_dir(source).resolve()) if source else None,
                             imports=imports, plugin_paths=paths(imports), study=study.meta.name,
                             study_dir=str(out_dir.resolve())))
    return tasks, labels


def _prepare_loggers(study: Study, specs: list, out_dir: Path) -> None:
    from ..tracking.registry import prepare

    loggers = list(dict.fromkeys(name for spec in specs for name in spec.config.train.loggers))
    if loggers:
        prepare(loggers, study.meta.name, out_dir.resolve())


def _round_title(design: Design, need: dict[str, int] | None, round_no: int, shares_baseline: set[str]) -> str:
    need = {c: n for c, n in (need or {}).items() if c not in shares_baseline}
    base = need.pop("baseline", design.baseline_looks[0])
    top = max(need.values(), default=design.looks[0])
    # The cases still undecided want the next look's seeds; decided ones keep what they had.
    open_cases = sorted(c for c, n in need.items() if n == top) if round_no > 1 else []
    looks = ", ".join(map(str, design.looks))
    baseline = f"{base} for the baseline" if base != top else "the baseline"
    if not open_cases:
        return (f"round {round_no}: {design.looks[0]} seeds for every case and {baseline} (adaptive seeds, "
                f"analyses at {looks})")
    return (f"round {round_no}: up to {top} seeds for {len(open_cases)} undecided case"
            f"{'s' if len(open_cases) > 1 else ''} and {baseline} (analyses at {looks}): {', '.join(open_cases)}")


def auto_workers(runs: int, device: str = "auto") -> int:
    """Worker processes for ``--workers auto``: one a core on a CPU (one process with all the
    threads uses two cores about 1.4x worse than two processes with one each, see
    benchmarks/training_speed.py), no more than the runs to do or 1.5 GiB of memory each
    allow; 1 on a GPU, which one process keeps busy."""
    import os

    from ..machine.cores import resolve_device
    from .tasks import worker_threads

    try:
        if resolve_device(device).type == "cuda":
            return 1
    except GanstudyError:
        return 1
    cores = worker_threads(1)
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        memory = 0
    by_memory = int(memory // (1.5 * 2**30)) if memory else cores
    return max(1, min(cores, runs, by_memory))


def group_seeds(tasks: list[RunTask], workers: int = 1) -> list[RunTask]:
    """Runs of one configuration that differ only in seed become one seed-batched task (where
    ``train.stack`` allows and batching pays on the device). Groups are split in
    halves until every worker has one: an idle core costs more than a smaller batch."""
    from ..spec.config import RunConfig
    from ..training.stack import batching_pays, stack_key

    groups: dict[str, list[RunTask]] = {}
    for task in tasks:
        cfg = RunConfig.model_validate(task.config)
        alone = task.init_from or not batching_pays(cfg, task.device)  # a fine-tune starts from its own checkpoint
        key = f"alone:{task.run_hash}" if alone else stack_key(cfg)
        groups.setdefault(key, []).append(task)
    parts = list(groups.values())
    while len(parts) < workers and max(len(p) for p in parts) > 1:
        largest = max(parts, key=len)
        parts.remove(largest)
        half = (len(largest) + 1) // 2
        parts += [largest[:half], largest[half:]]
    return [p[0] if len(p) == 1 else stack_task(p) for p in parts]


def _dispatch(store: StudyStore, tasks: list[RunTask], labels: dict[str, str], summary: StudySummary,
              executor_name: str, options: dict[str, Any], live: bool | None, title: str | None = None,
              on_run_end: Callable[[Path], None] | None = None) -> None:
    """One round: the tasks to an executor, each start and outcome into the index, the view and
    the summary; a first Ctrl-C at the driver stops the round (the runs save), a second at once."""
    executor = create_executor(executor_name, **options)
    view = StudyProgress(tasks, labels, live=live, title=title)
    round_ = _Round(store, summary, view, on_run_end)
    catch = executor.name != "local" or options.get("workers", 1) > 1  # in process, the run's own handler does
    previous = signal.signal(signal.SIGINT, round_.request_stop) if catch else None
    try:
        executor.run(group_seeds(tasks, executor.slots()), round_.on_start, round_.on_outcome, view.progress,
                     round_.should_stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        view.close()


class _Round:
    """What a round's executor calls back: a task started, a run's outcome, should it stop."""

    def __init__(self, store: StudyStore, summary: StudySummary, view: StudyProgress,
                 on_run_end: Callable[[Path], None] | None) -> None:
        self.store, self.summary, self.view, self.on_run_end = store, summary, view, on_run_end
        self.tick = getattr(on_run_end, "tick", None)  # the live report: what it held back, once it may
        self.stop_requested = False

    def on_start(self, task: RunTask) -> None:
        for run in task.runs:
            rec = self.store.get(run.run_hash)
            assert rec is not None
            rec.status, rec.started, rec.error = Status.RUNNING, time.time(), None
            self.store.record(rec)
            self.view.started(run)

    def on_outcome(self, outcome: TaskOutcome) -> None:
        rec, summary = self.store.get(outcome.run_hash), self.summary
        assert rec is not None
        if outcome.status == Status.BUSY:  # another process trains it: nothing happened to it here
            summary.counts[Status.BUSY] += 1
            summary.busy.append(outcome.error or outcome.run_hash)
            self.view.ended(outcome)
            return
        rec.status, rec.host, rec.ended = outcome.status, outcome.host, outcome.ended
        if outcome.status == Status.FAILED:
            rec.attempts += 0 if outcome.disk_full else 1  # a full disk is not the run's fault: no attempt used
            rec.error = outcome.error
        if outcome.result:
            rec.wall_seconds = outcome.result.get("wall_seconds")
            rec.iterations = outcome.result.get("iterations")
            rec.final = json.dumps(outcome.result.get("final") or {})
        self.store.record(rec)
        summary.counts[outcome.status] += 1
        if outcome.disk_full:  # every other run would fail alike: stop, with the one paragraph a full disk gets
            self.view.ended(outcome)
            raise OSError(errno.ENOSPC, f"No space left on device ({rec.path} failed: {outcome.error}; it is "
                          "recorded as failed, and continues from its last checkpoint)", str(self.store.root))
        if outcome.status == Status.INTERRUPTED:
            self.stop_requested = True
            summary.interrupted = True
        self.view.ended(outcome)
        if self.on_run_end is not None and outcome.status != Status.INTERRUPTED:
            self.on_run_end(self.store.root)

    def request_stop(self, signum, frame) -> None:  # noqa: ANN001 - a signal handler
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True
        self.summary.interrupted = True

    def should_stop(self) -> bool:
        if self.tick is not None:
            self.tick(self.store.root)
        return self.stop_requested
