"""The rows of the report's tables, one source for report.md and report.html (which
escape them each their own way)."""

from __future__ import annotations

from collections.abc import Callable

from ..base.status import Status
from .collect import StudyResults
from .format import diff_ci, losses, median_range, num, p_value


def case_values(res: StudyResults, case: str, metric: str) -> list[float]:
    """The metric of the case's runs that the verdicts use (complete ones that did not collapse)."""
    return [r.row.metrics[metric] for r in res.case_runs(case)
            if r.row.usable(res.n_classes) and metric in r.row.metrics]


def case_cell(res: StudyResults, case: str, metric: str) -> str:
    """Median [range] of the runs the verdicts use, and how many runs failed (left out)."""
    runs = res.case_runs(case)
    text = median_range(case_values(res, case, metric))
    collapsed = sum(r.row.collapsed(res.n_classes) for r in runs)
    diverged = sum(r.row.status == Status.DIVERGED for r in runs)
    notes = [f"{n} {what}" for n, what in ((collapsed, "collapsed"), (diverged, "diverged")) if n]
    return text + (f" ({', '.join(notes)} of {len(runs)}, left out)" if notes else "")


def verdict_cell(c) -> str:  # noqa: ANN001 - a Comparison or None
    if c is None:
        return "not run yet"
    text = c.verdict
    if c.verdict == "inconclusive":
        if c.still_open:
            text += f" (the next round gives it {c.seeds_wanted} seeds)"
        elif c.futile:
            text += f" (stopped at {c.seeds} seeds: it could not be decided by the most the study allows)"
        elif c.seeds_needed:
            text += f" (about {c.seeds_needed} seeds would settle it)"
    return text


def seeds_cell(c) -> str:  # noqa: ANN001
    if c is None or not c.seeds:
        return "-"
    return str(c.seeds) if c.baseline_seeds in (0, c.seeds) else f"{c.seeds} (baseline {c.baseline_seeds})"


def main_rows(res: StudyResults, user: Callable[[str], str] = str) -> list[list[str]]:
    """One row per case: change, expectation, baseline, case, difference, seeds, losses, verdict,
    held. ``user`` escapes the user's own words (a case's title) for the page they go into."""
    m = res.primary
    rows = []
    for plan in res.study.cases[1:]:
        c = res.verdict(plan.id)
        finals = [r.row.final for r in res.case_runs(plan.id)]
        reference = plan.finetune_from or "baseline"  # a fine-tune is compared with the runs it continues
        lineage = f" (continues {reference}, seed by seed; compared with it)" if plan.finetune_from else ""
        rows.append([
            f"{plan.id}: {user(plan.title)}{lineage}", plan.expect, case_cell(res, reference, m) +
            ("" if reference == "baseline" else f" ({reference})"), case_cell(res, plan.id, m),
            diff_ci(c.diff, c.ci_low, c.ci_high) if c and c.seeds else "-", seeds_cell(c),
            losses(finals), verdict_cell(c), res.expectation(plan.id),
        ])
    return rows


def metric_rows(res: StudyResults, metric: str) -> list[list[str]]:
    rows = []
    if metric in res.floor:
        rows.append(["real vs real (floor)", "-", num(res.floor[metric]), "-", "-", "-", "-"])
    for c in res.comparisons[metric]:
        p = f"{p_value(c.p_value)} ({p_value(c.p_adjusted)})" if c.tested else "-"
        rows.append([c.case, num(c.baseline_median), num(c.case_median),
                     diff_ci(c.diff, c.ci_low, c.ci_high) if c.tested else "-", seeds_cell(c), p, c.verdict])
    return rows


def interval_label(res: StudyResults) -> str:
    """Every interval shown has the same coverage, 1 - alpha, whatever look a case stopped at;
    an adaptive study's are repeated intervals (each wider at its own look)."""
    kind = "repeated interval" if res.study.meta.adaptive else "interval"
    return f"{100 * (1 - res.study.meta.alpha):g}% {kind}"


def metric_header(res: StudyResults) -> list[str]:
    return ["case", "baseline median", "case median", f"difference [{interval_label(res)}]", "seeds", "p (adjusted)",
            "verdict"]


def _trained(described: dict) -> str:
    others = described.get("seed_batched_with") or []
    return f"stacked with {len(others)} other run{'s' if len(others) > 1 else ''}" if others else "alone"


def main_header(res: StudyResults) -> list[str]:
    m = res.primary
    return ["change", "expected", f"baseline {m}: median [range]", f"case {m}: median [range]",
            f"difference [{interval_label(res)}]", "seeds", "final losses (median)", "verdict", "expectation held"]


def failure_header(res: StudyResults) -> list[str]:
    collapsed = f"collapsed (< half the {res.n_classes} classes)" if res.n_classes else "collapsed (not measured: no classes)"
    return ["case", "diverged", collapsed, "baseline diverged or collapsed", "Fisher exact p"]


def failure_rows(res: StudyResults) -> list[list[str]]:
    rows = []
    for c in res.comparisons.get(res.primary, []):
        f = c.failures
        if not c.tested or not f:
            continue
        rows.append([c.case, f"{f['case_diverged']} of {f['case_runs']}", f"{f['case_collapsed']} of {f['case_runs']}",
                     f"{f['baseline_failed']} of {f['baseline_runs']}", p_value(c.fisher_p)])
    return rows


RUN_HEADER = ["case", "seed", "run", "status", "device", "threads", "trained", "wall time (s)"]


def run_rows(res: StudyResults) -> list[list[str]]:
    return [[r.row.case, str(r.row.seed), r.row.run_hash[:8], r.row.status, str(r.described.get("device", "-")),
             str(r.described.get("threads", "-")), _trained(r.described), num(r.wall_seconds, 3)] for r in res.runs]
