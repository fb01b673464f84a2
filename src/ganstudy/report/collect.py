"""Gather what a report shows: every run's result, the verdicts, the floor, provenance."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..analysis import Comparison, RunRow, compare, expectation_held, loss_moved, summary_sentence
from ..atomic import read_jsonl
from ..metrics import get as get_metric
from ..runner import open_study
from ..store import StudyStore
from ..study import Study, with_seed


@dataclass
class RunInfo:
    row: RunRow
    run_dir: Path | None
    config: dict[str, Any]  # flat resolved config
    wall_seconds: float | None
    described: dict[str, Any] = field(default_factory=dict)

    def metrics_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.run_dir / "metrics.jsonl") if self.run_dir else []

    def eval_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.run_dir / "eval.jsonl") if self.run_dir else []


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


def _n_classes(study: Study) -> int:
    """How many classes the study's evaluator tells apart (what "collapsed" is measured against)."""
    from ..metrics.evaluator import find

    found = find(study.case("baseline").config.data.dataset)
    return int(json.loads(found[1].read_text())["classes"]) if found else 10


def collect(path: str | Path, *, floor: bool = True, data_root: str | Path | None = None) -> StudyResults:
    study, out, _ = open_study(path)
    store = StudyStore(out)
    store.rebuild_index()
    runs: list[RunInfo] = []
    for plan in study.cases:
        for seed in study.seeds:
            cfg = with_seed(plan.config, seed)
            rec = store.get(cfg.run_hash())
            status, metrics, final, wall, run_dir, described = "pending", {}, {}, None, None, {}
            if rec is not None:
                run_dir = store.run_dir(rec)
                status = store.state(rec)
                result_path = run_dir / "result.json"
                if result_path.is_file():
                    result = json.loads(result_path.read_text())
                    metrics, final, wall = result.get("metrics") or {}, result.get("final") or {}, result.get("wall_seconds")
                if (run_dir / "config.json").is_file():
                    described = json.loads((run_dir / "config.json").read_text())
            row = RunRow(plan.id, seed, status, metrics, final, cfg.run_hash())
            runs.append(RunInfo(row, run_dir, cfg.flat(), wall, described))
    rows = [r.row for r in runs]
    metric_names = [m for m in study.case("baseline").config.eval.metrics if _has(rows, m)]
    same = {p.id for p in study.cases if p.same_as == "baseline"}
    n_classes = _n_classes(study)
    comparisons = {
        m: compare(rows, m, get_metric(m).lower_is_better, equivalence=study.meta.equivalence, same_as_baseline=same,
                   n_classes=n_classes)
        for m in metric_names
    }
    primary = comparisons.get(study.meta.metric, [])
    summary = summary_sentence(primary, study.meta.metric) if primary else "No run has been scored yet."
    pending = len({r.row.run_hash for r in runs if r.row.status not in ("complete", "diverged")})
    if pending:
        summary += f" ({pending} of {len({r.row.run_hash for r in runs})} runs have not ended yet: run `ganstudy run {out}`.)"
    warnings = []
    for c in primary:
        if c.verdict in ("no effect", "inconclusive") and loss_moved(rows, c.case):
            warnings.append(f"{c.case}: its final D/G losses moved, but its {study.meta.metric} did not "
                            f"({c.verdict}). Losses are not quality.")
    floor_values, floor_note = ({}, "")
    if floor and primary:
        floor_values, floor_note = real_floor(study, data_root)
    return StudyResults(study, out, runs, comparisons, metric_names, floor_values, floor_note, summary, warnings,
                        provenance(runs), n_classes)


def _has(rows: list[RunRow], metric: str) -> bool:
    return any(metric in r.metrics for r in rows)


def real_floor(study: Study, data_root: str | Path | None) -> tuple[dict[str, float], str]:
    """Real images scored like a generator: training images against the runs' reference."""
    from ..data import load_training_data
    from ..evaluation import reference_for
    from ..metrics import score_images
    from ..metrics.evaluator import load

    cfg = study.case("baseline").config
    try:
        evaluator = load(cfg.data.dataset)
        data = load_training_data(cfg.data, data_root)
        reference = reference_for(cfg, data, evaluator, data_root)
    except Exception as exc:  # noqa: BLE001 - a report without its floor is still a report
        return {}, f"real-vs-real floor not available ({exc})"
    n = min(cfg.eval.samples, len(data.train))
    scored = score_images(evaluator, reference, data.train.images[:n], cfg.eval.metrics)
    note = f"{n} real training images scored against the reference ({reference.description})"
    return scored["metrics"], note


def provenance(runs: list[RunInfo]) -> dict[str, Any]:
    import scipy
    import torch

    # Training time once per process that trained: a run shared by several cases counts once,
    # and the members of a seed batch share one wall time.
    walls: dict[frozenset[str], float] = {}
    for r in runs:
        if r.wall_seconds:
            together = frozenset([r.row.run_hash, *(r.described.get("seed_batched_with") or [])])
            walls[together] = max(walls.get(together, 0.0), r.wall_seconds)
    return {
        "ganstudy": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "total_train_seconds": round(sum(walls.values()), 1),
    }
