"""Run a study: plan, skip what is done, resume what was interrupted, dispatch the rest.

``run_study`` is what ``ganstudy run`` calls. It holds the study folder's lock, records
every run in the index as it starts and ends, and returns a summary. Runs that train alike
(same run hash) run once and are shared by every case that asks for them.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_json, write_text
from .config import parse_overrides
from .errors import GanstudyError
from .executors import create as create_executor
from .progress import StudyProgress
from .store import ENDED, FAILED, INTERRUPTED, RUNNING, RunRecord, StudyStore
from .study import Study, StudyMeta, load_study, with_seed
from .tasks import RunTask, TaskOutcome, seed_group, worker_threads
from .train import scoring_changed

MAX_ATTEMPTS = 3
STUDY_FILE = "study.toml"
RUN_ARGS = "study.json"


@dataclass
class StudySummary:
    study: str
    out: Path
    runs: int  # distinct runs in the plan
    skipped: int  # already ended before this invocation
    counts: Counter = field(default_factory=Counter)  # outcome -> runs, for this invocation
    gave_up: list[str] = field(default_factory=list)  # runs failed MAX_ATTEMPTS times
    interrupted: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return self.skipped == self.runs and not self.gave_up


def resolve_study(path: str | Path, out: str | Path | None) -> tuple[Path, Path, dict[str, Any]]:
    """(study file, study folder, saved run arguments). A folder means "the study run there"."""
    path = Path(path)
    if path.is_dir():
        study_file = path / STUDY_FILE
        if not study_file.is_file():
            raise GanstudyError(f"{path}: not a study folder (no {STUDY_FILE}); give a study .toml file instead.")
        if out is not None and Path(out).resolve() != path.resolve():
            raise GanstudyError(f"{path} is a study folder; --out must be left out or be that folder.")
        saved = json.loads((path / RUN_ARGS).read_text()) if (path / RUN_ARGS).is_file() else {}
        return study_file, path, saved
    if not path.is_file():
        raise GanstudyError(f"{path}: no such study file or study folder.")
    return path, Path(out) if out else Path("ganstudy-runs") / path.stem, {}


def open_study(path: str | Path, out: str | Path | None = None, overrides: list[str] | None = None,
               seeds: int | None = None) -> tuple[Study, Path, list[str]]:
    study_file, out_dir, saved = resolve_study(path, out)
    overrides = list(overrides) if overrides else list(saved.get("overrides", []))
    layers = [parse_overrides(overrides, "--set")] if overrides else []
    study = load_study(study_file, layers)
    if seeds is not None:
        if seeds < 1:
            raise GanstudyError("--seeds must be at least 1.")
        study.meta.seeds = list(range(seeds))
    return study, out_dir, overrides


def _label(case_id: str, seed: int) -> str:
    return f"{case_id} seed {seed}"


def run_study(path: str | Path, out: str | Path | None = None, *, seeds: int | None = None, workers: int | str = 1,
              executor: str = "local", executor_options: dict[str, Any] | None = None,
              data_root: str | Path | None = None, device: str = "auto", overrides: list[str] | None = None,
              live: bool | None = None, max_attempts: int = MAX_ATTEMPTS) -> StudySummary:
    study, out_dir, overrides = open_study(path, out, overrides, seeds)
    store = StudyStore(out_dir)
    with store.lock():
        _save_study(study, out_dir, overrides)
        store.rebuild_index()  # the run folders are the truth; a killed driver left the index behind
        specs = study.runs()
        tasks: list[RunTask] = []
        labels: dict[str, str] = {}
        summary = StudySummary(study.meta.name, out_dir, len(specs), 0)
        for spec in specs:
            rec = store.get(spec.run_hash) or RunRecord(
                spec.run_hash, store.folder_for(spec.case, spec.seed, spec.run_hash), spec.case, spec.seed,
                spec.config.config_hash(), "pending")
            for case_id in [spec.case, *spec.shared_with]:
                store.link(study.meta.name, case_id, spec.seed, spec.run_hash)
            state = store.inspect(rec)
            rescore = state == "complete" and scoring_changed(out_dir / rec.path, spec.config)
            if state in ENDED and not rescore:
                summary.skipped += 1
                continue
            if rec.status == FAILED and rec.attempts >= max_attempts:
                summary.gave_up.append(f"{rec.path}: {rec.error}")
                continue
            rec.status = state if rec.status != FAILED else FAILED
            store.record(rec)
            labels[spec.run_hash] = _label(spec.case, spec.seed)
            t = spec.config.train
            tasks.append(RunTask(spec.run_hash, spec.case, spec.seed, spec.config.model_dump(mode="json"),
                                 str((out_dir / rec.path).resolve()), str(data_root) if data_root else None, device,
                                 total_iterations=t.iterations or t.epochs))
        if not tasks:
            return summary
        if workers == "auto":
            workers = auto_workers(len(tasks), device) if executor == "local" else 1
            if executor == "local":
                threads = worker_threads(workers)
                print(f"--workers auto: {workers} worker process{'es' if workers > 1 else ''}, "
                      f"{threads} torch thread{'s' if threads > 1 else ''} each", file=sys.stderr)
        _dispatch(store, tasks, labels, summary, executor, {"workers": workers, **(executor_options or {})}, live)
    return summary


def auto_workers(runs: int, device: str = "auto") -> int:
    """Worker processes for ``--workers auto``: one a core on a CPU (one process with all the
    threads uses two cores about 1.4x worse than two processes with one each, see
    benchmarks/training_speed.py), no more than the runs to do or 1.5 GiB of memory each
    allow; 1 on a GPU, which one process keeps busy."""
    import os

    from .tasks import worker_threads
    from .train import resolve_device

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
    ``train.vectorize_seeds`` allows and batching pays on the device). Groups are split in
    halves until every worker has one: an idle core costs more than a smaller batch."""
    from .config import RunConfig
    from .seed_batch import batching_pays, group_key

    groups: dict[str, list[RunTask]] = {}
    for task in tasks:
        cfg = RunConfig.model_validate(task.config)
        key = group_key(cfg) if batching_pays(cfg, task.device) else f"alone:{task.run_hash}"
        groups.setdefault(key, []).append(task)
    parts = list(groups.values())
    while len(parts) < workers and max(len(p) for p in parts) > 1:
        largest = max(parts, key=len)
        parts.remove(largest)
        half = (len(largest) + 1) // 2
        parts += [largest[:half], largest[half:]]
    return [p[0] if len(p) == 1 else seed_group(p) for p in parts]


def _save_study(study: Study, out_dir: Path, overrides: list[str]) -> None:
    """Keep the study as run (and the --set / --seeds it ran with) in its folder."""
    target = out_dir / STUDY_FILE
    text = study.path.read_text(encoding="utf-8")
    if study.path.resolve() != target.resolve():
        write_text(target, text)
    write_json(out_dir / RUN_ARGS, {"source": str(study.path), "overrides": overrides, "seeds": study.seeds})
    if study.seeds != StudyMeta.model_validate(study.raw["study"]).seed_list():  # --seeds changed them
        _write_seeds(target, study.seeds)


def _write_seeds(study_file: Path, seeds: list[int]) -> None:
    import tomli_w

    from .config import load_toml

    raw = load_toml(study_file)
    raw["study"]["seeds"] = seeds
    write_text(study_file, "# The study as run here (rewritten by ganstudy: seeds changed).\n" + tomli_w.dumps(raw))


def _dispatch(store: StudyStore, tasks: list[RunTask], labels: dict[str, str], summary: StudySummary,
              executor_name: str, options: dict[str, Any], live: bool | None) -> None:
    executor = create_executor(executor_name, **options)
    view = StudyProgress(tasks, labels, live=live)
    tasks = group_seeds(tasks, executor.slots())
    stop = {"requested": False}

    def on_start(task: RunTask) -> None:
        for run in task.runs:
            rec = store.get(run.run_hash)
            assert rec is not None
            rec.status, rec.started, rec.error = RUNNING, time.time(), None
            store.record(rec)
            view.started(run)

    def on_outcome(outcome: TaskOutcome) -> None:
        rec = store.get(outcome.run_hash)
        assert rec is not None
        rec.status, rec.host, rec.ended = outcome.status, outcome.host, outcome.ended
        if outcome.status == FAILED:
            rec.attempts += 1
            rec.error = outcome.error
        if outcome.result:
            rec.wall_seconds = outcome.result.get("wall_seconds")
            rec.iterations = outcome.result.get("iterations")
            rec.final = json.dumps(outcome.result.get("final") or {})
        store.record(rec)
        summary.counts[outcome.status] += 1
        if outcome.status == INTERRUPTED:
            stop["requested"] = True
            summary.interrupted = True
        view.ended(outcome)

    def request_stop(signum, frame) -> None:  # noqa: ANN001
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        summary.interrupted = True

    previous = signal.signal(signal.SIGINT, request_stop) if executor.name != "local" or options.get("workers", 1) > 1 else None
    try:
        executor.run(tasks, on_start, on_outcome, view.progress, lambda: stop["requested"])
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        view.close()


# ---------------------------------------------------------------------------- status


def status_rows(path: str | Path) -> tuple[Study, list[dict[str, str]]]:
    """One row per case x seed of the study in folder ``path``: its run and state."""
    study, out_dir, _ = open_study(path)
    store = StudyStore(out_dir)
    store.rebuild_index()
    owner: dict[str, str] = {}
    rows = []
    for plan in study.cases:
        for seed in study.seeds:
            h = with_seed(plan.config, seed).run_hash()
            shared = owner.setdefault(h, _label(plan.id, seed))
            note = f"shares {shared}" if shared != _label(plan.id, seed) else ""
            row = {"case": plan.id, "seed": str(seed), "run": h[:8], "state": "pending", "progress": "",
                   "wall": "", "final": "", "note": note}
            rows.append(row)
            rec = store.get(h)
            if rec is None:
                continue
            row["state"] = store.state(rec)
            row["progress"] = _progress_of(store.run_dir(rec))
            if rec.wall_seconds:
                row["wall"] = f"{rec.wall_seconds:.0f}s"
            final = rec.final_dict
            if final:
                row["final"] = f"D {final['d_loss']:.4f} acc {100 * final['d_acc']:.1f}% G {final['g_loss']:.4f}"
            if row["state"] == FAILED and not note:
                row["note"] = f"attempt {rec.attempts}: {rec.error}"
    return study, rows


def _progress_of(run_dir: Path) -> str:
    try:
        st = json.loads((run_dir / "status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return ""
    return f"{st.get('iteration', 0)}/{st.get('total_iterations', '?')}"


def add_seeds(path: str | Path, n: int) -> list[int]:
    """Add ``n`` seeds to the study run in folder ``path``; what is done stays done."""
    if n < 1:
        raise GanstudyError("add-seeds: N must be at least 1.")
    study, out_dir, _ = open_study(path)
    seeds = list(study.seeds)
    candidate = 0
    while len(seeds) < len(study.seeds) + n:
        if candidate not in seeds:
            seeds.append(candidate)
        candidate += 1
    _write_seeds(out_dir / STUDY_FILE, seeds)
    saved = json.loads((out_dir / RUN_ARGS).read_text()) if (out_dir / RUN_ARGS).is_file() else {}
    write_json(out_dir / RUN_ARGS, {**saved, "seeds": seeds})
    return seeds
