"""Gather what a report shows: every run's result, the verdicts, the floor, provenance."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..spec.study import Study
from ..storage.index import StudyStore
from ..storage.results import DAMAGED, RunInfo, n_classes, study_table
from ..storage.studyfolder import open_study, study_folder
from ..training.phases import study_cost
from ..verdicts.compare import (
    Comparison,
    Pairing,
    RunRow,
    expectation_held,
    loss_moved,
    pairing_correlation,
    summary_sentence,
)
from ..verdicts.rounds import comparisons, same_as_baseline, seeds_needed


@dataclass
class StudyResults:
    study: Study
    out: Path
    runs: list[RunInfo]
    comparisons: dict[str, list[Comparison]]  # metric -> one per case
    metric_names: list[str]
    floor: dict[str, float]
    floor_note: str
    summary: str
    warnings: list[str]
    provenance: dict[str, Any]
    n_classes: int = 10
    pairing: Pairing | None = None  # how much seeds paired: advice for the next study
    detectable: tuple[float, float | None] | None = None  # (seed-SDs beyond the band, the same in metric units)
    partial: tuple[int, int] | None = None  # (runs ended, runs the study needs now) while some have not ended

    @property
    def partial_text(self) -> str:
        if self.partial is None:
            return ""
        ended, total = self.partial
        return (f"Partial: {ended} of {total} runs have ended. The study is still running (or was stopped): this "
                "report is rewritten as runs end, and its verdicts may change until every run has ended.")

    @property
    def primary(self) -> str:
        return self.study.meta.metric

    def rows(self) -> list[RunRow]:
        return [r.row for r in self.runs]

    def case_runs(self, case: str) -> list[RunInfo]:
        return [r for r in self.runs if r.row.case == case]

    def verdict(self, case: str) -> Comparison | None:
        return next((c for c in self.comparisons.get(self.primary, []) if c.case == case), None)

    def expectation(self, case: str) -> str:
        c = self.verdict(case)
        return expectation_held(self.study.case(case).expect, c.verdict) if c else "-"


def collect(path: str | Path, *, floor: bool = True) -> StudyResults:
    study, out, _ = open_study(study_folder(path))
    store = StudyStore.reading(out)
    classes = n_classes(study)
    table = study_table(study, store)
    need = seeds_needed(study, [r.row for r in table], classes)
    # The runs an analysis can use: those that exist, and those the design wants now.
    runs = [r for r in table if r.run_dir is not None or r.row.seed in study.seeds[: need.get(r.row.case, 0)]]
    rows = [r.row for r in table]
    metric_names = [m for m in study.case("baseline").config.eval.metrics if _has(rows, m)]
    primary = comparisons(study, rows, study.meta.metric, classes) if study.meta.metric in metric_names else []
    follow = {c.case: c.last_look for c in primary}  # other metrics stop where the primary's decisions did
    by_metric = {m: primary if m == study.meta.metric else comparisons(study, rows, m, classes, follow)
                 for m in metric_names}
    scored = study.meta.metric in metric_names
    if primary:
        summary = summary_sentence(primary, study.meta.metric)
    elif scored:  # a baseline alone: scored, with nothing to compare it with
        summary = "This study has no case besides its baseline, so nothing is compared: its scores are below."
    else:
        summary = "No run has been scored yet."
    damaged = sorted({str(r.run_dir.relative_to(out)) for r in runs if r.row.status == DAMAGED and r.run_dir})
    pending = len({r.row.run_hash for r in runs if not r.row.settled})
    if damaged:
        summary += (f" ({len(damaged)} run{'s are' if len(damaged) > 1 else ' is'} damaged, a result or config file "
                    f"cut short: {', '.join(damaged)}; `ganstudy run {out}` scores "
                    f"{'them' if len(damaged) > 1 else 'it'} again from the checkpoint.)")
        pending -= len(damaged)
    total = len({r.row.run_hash for r in runs})
    if pending:
        summary += f" ({pending} of {total} runs have not ended yet: run `ganstudy run {out}`.)"
    floor_values, floor_note = ({}, "")
    if floor and scored:
        floor_values, floor_note = recorded_floor(runs)
    headline = failure_headline(runs, classes, study.meta.metric, floor_values.get(study.meta.metric))
    if headline:
        summary = f"{headline} {summary}"
    warnings = []
    for c in primary:
        if c.verdict == "no effect" and loss_moved(rows, c.case, baseline=c.against):
            warnings.append(f"{c.case}: its final D/G losses moved, but its {study.meta.metric} is credibly unchanged "
                            "(no effect). Losses are not quality.")
    if any(_evaluator_of(r).startswith("unlabelled-") for r in runs):
        warnings.append("scored by a label-free evaluator (random convolutional features, whitened on this study's "
                        "reference images): its scores compare the cases of this study with each other, not with "
                        "another study's; and without labels there are no class metrics and no collapse counts.")
    pairing = pairing_correlation(rows, study.meta.metric, same_as_baseline=same_as_baseline(study), n_classes=classes)
    return StudyResults(study, out, runs, by_metric, metric_names, floor_values, floor_note, summary, warnings,
                        provenance(runs, study), classes, pairing, _detectable(study, rows, primary),
                        (total - pending, total) if pending else None)


def failure_headline(runs: list[RunInfo], n_classes: int, metric: str, floor: float | None) -> str:
    """The study's first sentence when most runs of the baseline or of a case collapsed or
    diverged: its verdicts then rest on few runs that trained, or on none."""
    by_case: dict[str, list[RunRow]] = {}
    owner: dict[str, str] = {}  # a run shared by cases (the same training) is its first case's
    for r in runs:
        if r.row.ended and owner.setdefault(r.row.run_hash, r.row.case) == r.row.case:
            by_case.setdefault(r.row.case, []).append(r.row)
    failing = {case: (sum(r.failed(n_classes) for r in rows), len(rows)) for case, rows in by_case.items()}
    most = [(case, k, n) for case, (k, n) in failing.items() if 2 * k > n]
    if not most:
        return ""
    k_all = sum(k for k, _ in failing.values())
    n_all = sum(n for _, n in failing.values())
    named = ", ".join(f"{case} {k} of {n}" for case, k, n in most[:4]) + (f" and {len(most) - 4} more" if len(most) > 4
                                                                          else "")
    floor_text = f"; real data scores {floor:.4g} on {metric}" if floor is not None else ""
    return (f"Warning: {k_all} of {n_all} runs collapsed or diverged (most runs of {named}). A failed run's "
            f"{metric} measures its failure, so the verdicts compare only the runs that trained and count the "
            f"failures; with so few of them, read every verdict below as about runs that mostly failed{floor_text}.")


def _detectable(study: Study, rows: list[RunRow], primary: list[Comparison]) -> tuple[float, float | None] | None:
    """What the study's seeds could find with 80% power (what `ganstudy plan` said), in seed-SDs
    beyond the band and, from the baseline's spread, in the metric's units."""
    from ..stats.power import detectable_effect

    tested = [c for c in primary if c.verdict != "does not change training"]
    if not tested:
        return None
    beyond = detectable_effect(study.design(), len(tested))
    base = [r.metrics[study.meta.metric] for r in rows if r.case == "baseline" and r.usable(n_classes(study))
            and study.meta.metric in r.metrics]
    spread = float(np.std(base, ddof=1)) if len(base) >= 2 else None
    return beyond, (tested[0].band + beyond * spread if spread is not None and np.isfinite(beyond) else None)


def _has(rows: list[RunRow], metric: str) -> bool:
    return any(metric in r.metrics for r in rows)


def recorded_floor(runs: list[RunInfo]) -> tuple[dict[str, float], str]:
    """Real images scored like a generator, as the baseline's runs recorded it when their
    reference was made (``training.scoring.real_floor``): the report computes nothing."""
    scored = [r for r in runs if r.row.case == "baseline" and r.row.metrics]
    for r in scored:
        if r.floor and isinstance(r.floor.get("metrics"), dict):
            return r.floor["metrics"], str(r.floor.get("note", ""))
    if not scored:
        return {}, "real-vs-real floor not available yet: no run of the baseline has been scored"
    return {}, ("real-vs-real floor not recorded: the baseline's runs were scored by an earlier ganstudy "
                "(`ganstudy eval --real DATASET` measures one)")


def provenance(runs: list[RunInfo], study: Study) -> dict[str, Any]:
    """What produced these results: versions, machine, how runs trained, the evaluator, the
    commit of the study's own repository."""
    import scipy
    import torch

    # Training time once per process that trained: a run shared by several cases counts once,
    # and the members of a seed batch share one wall time.
    walls: dict[frozenset[str], float] = {}
    for r in runs:
        if r.wall_seconds:
            walls[r.trained_together] = max(walls.get(r.trained_together, 0.0), r.wall_seconds)
    # A run shared by several cases counts once.
    cost = list({r.row.run_hash: (r.trained_together, r.phases) for r in runs if r.phases}.values())
    threads = sorted({int(r.described["threads"]) for r in runs if r.described.get("threads")})
    devices = sorted({str(r.described["device"]) for r in runs if r.described.get("device")})
    evaluators = sorted({_evaluator_of(r) for r in runs} - {""})
    return {
        "ganstudy": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "devices the runs trained on": ", ".join(devices) or "-",
        "torch threads per run": ", ".join(map(str, threads)) or "-",
        "evaluator (name-weights hash)": ", ".join(evaluators) or "-",
        "study file's commit when run": _saved_commit(study),
        "total_train_seconds": round(sum(walls.values()), 1),
        "cost (runs that recorded it)": study_cost(cost),
    }


def _evaluator_of(run: RunInfo) -> str:
    if run.run_dir is None:
        return ""
    try:
        return str(json.loads((run.run_dir / "result.json").read_text())["protocol"]["evaluator"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return ""


def _saved_commit(study: Study) -> str:
    """What `ganstudy run` recorded: the commit of the repository holding the study file it ran."""
    try:
        saved = json.loads((Path(study.path).parent / "study.json").read_text())
    except (FileNotFoundError, ValueError):
        return "-"
    return f"{saved.get('source_commit') or '-'} ({saved.get('source', '?')})"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
