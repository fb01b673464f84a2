"""What ``ganstudy plan`` shows of a study before anything trains: each case's changes and
runs (shared runs said), and what each sweep expanded to."""

from __future__ import annotations

import json
from typing import Any

from ..spec.identity import PRESENTATION_KEYS
from ..spec.study import CasePlan, Study


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
