"""What ``ganstudy plan`` shows of a study before anything trains: each case's changes and
runs (shared runs said), what each sweep expanded to, where bf16 runs, how the runs stack,
and what the seeds can find."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..machine.precision import plan_line
from ..spec.identity import PRESENTATION_KEYS
from ..spec.study import CasePlan, Study
from ..stats.power import HOPELESS, plan_power
from ..storage.index import StudyStore
from ..storage.results import n_classes, study_table
from ..storage.studyfolder import resolve_study
from ..training.stack import batching_pays, stack_key
from ..verdicts.compare import equivalence_band


def _short(value: Any) -> str:
    text = json.dumps(value)  # TOML-like: "text", true/false, [1, 2]
    return text if len(text) <= 40 else text[:37] + "..."


def describe_changes(plan: CasePlan) -> str:
    if plan.id == "baseline":
        return "-"
    parts = [f"{k}: {_short(old)} -> {_short(new)}" for k, old, new in plan.changes]
    if plan.derived:
        parts.append(f"(+{plan.derived} keys from the preset)")
    return "; ".join(parts) or "(nothing)"


def plan_rows(study: Study) -> list[dict[str, str]]:
    """The rows of ``ganstudy plan``: what each case changes and what it will run."""
    rows = []
    for plan in study.cases:
        changes, runs = describe_changes(plan), str(len(study.case_seeds(plan.id)))
        if plan.same_as == "baseline":
            keys = {k for k, _, _ in plan.changes}
            kind = "presentation only, " if keys <= PRESENTATION_KEYS else ""
            changes += f"  => does not change training ({kind}shares the baseline's runs)"
            runs = "0"
        elif plan.same_as:
            changes += f"  => trains exactly as {plan.same_as} (shares its runs)"
            runs = "0"
        rows.append({"case": plan.id, "title": plan.title, "changes": changes, "runs": runs})
    return rows


def sweep_lines(study: Study) -> list[str]:
    """What each sweep expanded to (``ganstudy plan``)."""
    sweeps: dict[str, list[CasePlan]] = {}
    for plan in study.cases:
        if plan.point is not None:
            sweeps.setdefault(plan.point.sweep, []).append(plan)
    lines = []
    for sweep, plans in sweeps.items():
        keys = plans[0].point.keys  # type: ignore[union-attr]
        grid = " x ".join(f"{k} in [{', '.join(dict.fromkeys(_short(p.point.values[i]) for p in plans))}]"  # type: ignore[union-attr]
                          for i, k in enumerate(keys))
        lines.append(f"sweep {sweep}: {grid} -> {len(plans)} cases ({', '.join(p.id for p in plans)}), "
                     "each judged against the baseline in the same family as every case")
    return lines


def plan_notes(study: Study, out: str | Path | None = None) -> tuple[list[str], list[str]]:
    """What ``ganstudy plan`` says under its table: the sweeps, where bf16 runs, how many runs
    train and how they stack, and what the seeds can find (the power arithmetic, from the
    baseline's runs when a study folder has them). Returns (lines, warnings)."""
    lines = [*sweep_lines(study), plan_line({p.id: p.config.train.precision for p in study.cases})]
    runs = study.runs()
    total = sum(len(study.case_seeds(p.id)) for p in study.cases)
    most = "at most " if study.meta.adaptive else ""
    lines.append(f"{most}{len(runs)} runs to train ({total} case x seed pairs; {total - len(runs)} shared with "
                 "identical training)")
    pays = [batching_pays(r.config) for r in runs]
    stacks = {stack_key(r.config) for r, p in zip(runs, pays) if p}
    alone = pays.count(False)
    if stacks:
        lines.append(f"stacked: the runs train as {len(stacks)} groups, each one batched model (the seeds of a case, "
                     "and cases that differ only in learning rate, Adam settings, schedule, data scaling, loss or "
                     "dropout rate)" + (f", {alone} alone (train.stack = false, or convolutional on a CPU)" if alone else "")
                     + "; ganstudy run splits groups further to keep every --workers slot busy")
    else:
        lines.append("seed batching: none (train.stack = false, or convolutional networks on a CPU, "
                     "where it does not pay); each run trains alone")
    power, warnings = _power(study, out)
    return [*lines, "", *power], warnings


def _power(study: Study, out: str | Path | None) -> tuple[list[str], list[str]]:
    """The power arithmetic before any training: what the seeds and cases can find."""
    tested = [p for p in study.cases[1:] if p.same_as != "baseline"]
    if not tested:
        return ["statistics: no case that changes training, so nothing to decide"], []
    spread, band = _baseline_spread(study, out)
    power = plan_power(study.design(), len(tested), spread, band)
    warnings = []
    if not power.can_decide:
        warnings.append(f"WARNING: with these seeds and {len(tested)} cases no verdict is reachable: no change smaller "
                        f"than {HOPELESS:g} seed-SDs beyond the band, and no count of failed runs, can be shown. Give "
                        "more seeds (seeds = { min = 3, max = 12 } adds them only where needed), or fewer cases.")
    elif power.detectable > 3:
        warnings.append(f"warning: only changes larger than the band plus {power.detectable:.1f} seed-SDs can be found; "
                        "more seeds (or adaptive seeds) find smaller ones.")
    return power.lines(study.meta.metric), warnings


def _baseline_spread(study: Study, out: str | Path | None) -> tuple[float | None, float | None]:
    """(seed-SD, band) of the primary metric from the baseline's runs, once a study folder has them."""
    import numpy as np


    folder = Path(out) if out else resolve_study(study.path, None)[1]
    if not (folder / "index.sqlite").is_file():
        return None, None
    rows = [r.row for r in study_table(study, StudyStore(folder)) if r.row.case == "baseline"]
    classes = n_classes(study)
    values = [r.metrics[study.meta.metric] for r in rows if r.usable(classes) and study.meta.metric in r.metrics]
    if len(values) < 2:
        return None, None
    first = study.seeds[: study.design().baseline_looks[0]]
    band = equivalence_band([r.metrics[study.meta.metric] for r in rows if r.seed in first and r.usable(classes)
                             and study.meta.metric in r.metrics], study.meta.equivalence, study.meta.equivalence_abs)
    return float(np.std(values, ddof=1)), band
