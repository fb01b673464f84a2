"""The per-run results of a study folder: one row per case x seed, read from the run folders
(their ``result.json``), which the runner's rounds, ``ganstudy status`` and the report share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.atomic import read_jsonl
from ..base.status import Status
from ..spec.study import Study, with_seed
from ..verdicts.compare import RunRow
from .index import MAX_ATTEMPTS, StudyStore


@dataclass
class RunInfo:
    row: RunRow
    run_dir: Path | None
    config: dict[str, Any]  # flat resolved config
    wall_seconds: float | None
    described: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)  # seconds by phase (phases.py), where recorded
    floor: dict[str, Any] | None = None  # real images scored as its samples were, where the run recorded it

    @property
    def trained_together(self) -> frozenset[str]:
        """This run's hash and those of the runs stacked with it: one process's steps."""
        return frozenset([self.row.run_hash, *(self.described.get("seed_batched_with") or [])])

    def metrics_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.run_dir / "metrics.jsonl") if self.run_dir else []

    def eval_log(self) -> list[dict[str, Any]]:
        return read_jsonl(self.run_dir / "eval.jsonl") if self.run_dir else []


def n_classes(study: Study) -> int:
    """How many classes the study's evaluator tells apart (what "collapsed" is measured against;
    0 when its scores come from an evaluator without classes)."""
    from ..metrics.evaluator import find

    cfg = study.case("baseline").config
    found = find(cfg.data.dataset) if cfg.eval.features in ("auto", "classifier") else None
    return int(json.loads(found[1].read_text())["classes"]) if found else 0


#: The state of a run whose result.json (or config.json) is there but cannot be read: torn by a
#: kill or damaged. `ganstudy run` repairs it (it scores the run again from its checkpoint).
DAMAGED = "damaged"


def _read(path: Path) -> dict[str, Any] | None:
    """A run's JSON file: its contents, {} when it is not there, None when it is damaged."""
    try:
        value = json.loads(path.read_text())
        return value if isinstance(value, dict) else None
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError):
        return None


def study_table(study: Study, store: StudyStore) -> list[RunInfo]:
    """Every case x seed of the study (all of its seeds, run or not), baseline first."""
    runs: list[RunInfo] = []
    for plan in study.cases:
        for seed in study.case_seeds(plan.id):
            cfg = with_seed(plan.config, seed)
            run_hash = study.run_hash(plan.id, seed)  # a fine-tune's includes the run it continues
            rec = store.get(run_hash)
            status, metrics, final, wall, run_dir, described, gave_up = Status.PENDING, {}, {}, None, None, {}, False
            phases: dict[str, float] = {}
            floor = None
            if rec is not None:
                run_dir = store.run_dir(rec)
                status = store.state(rec)
                gave_up = status == Status.FAILED and rec.attempts >= MAX_ATTEMPTS
                result, described = _read(run_dir / "result.json"), _read(run_dir / "config.json")
                if result is None or described is None:
                    status, result, described = DAMAGED, result or {}, described or {}
                metrics, final, wall = result.get("metrics") or {}, result.get("final") or {}, result.get("wall_seconds")
                phases = result.get("phases") or {}
                floor = result.get("floor") if isinstance(result.get("floor"), dict) else None
            row = RunRow(plan.id, seed, status, metrics, final, run_hash, gave_up)
            runs.append(RunInfo(row, run_dir, cfg.flat(), wall, described, phases, floor))
    return runs
