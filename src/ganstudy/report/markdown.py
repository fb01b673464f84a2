"""report.md: the write-up's table done right, the per-metric tables, provenance.
Plain GitHub-flavoured markdown: tables and text, no raw HTML."""

from __future__ import annotations

from ..metrics import get as get_metric
from .collect import StudyResults
from .format import diff_ci, losses, median_range, num, p_value, value_repr


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def case_values(res: StudyResults, case: str, metric: str) -> list[float]:
    """The metric of the case's runs that the verdicts use (not diverged, not collapsed)."""
    return [r.row.metrics[metric] for r in res.case_runs(case) if r.row.usable() and metric in r.row.metrics]


def case_cell(res: StudyResults, case: str, metric: str) -> str:
    """Median [range] of the usable runs, and how many runs were not usable."""
    runs = res.case_runs(case)
    text = median_range(case_values(res, case, metric))
    collapsed = sum(r.row.collapsed(res.n_classes) for r in runs)
    diverged = sum(r.row.status in ("diverged", "failed") for r in runs)
    notes = [f"{n} {what}" for n, what in ((collapsed, "collapsed"), (diverged, "diverged")) if n]
    return text + (f" ({', '.join(notes)} of {len(runs)})" if notes else "")


def main_rows(res: StudyResults) -> list[list[str]]:
    """One row per case: change, expectation, baseline, case, difference, losses, verdict, held."""
    m = res.primary
    rows = []
    for plan in res.study.cases[1:]:
        c = res.verdict(plan.id)
        finals = [r.row.final for r in res.case_runs(plan.id)]
        verdict = c.verdict if c else "not run yet"
        if c and c.verdict == "inconclusive" and c.seeds_needed:
            verdict += f" (about {c.seeds_needed}{'+' if c.seeds_needed > 200 else ''} seeds would settle it)"
        rows.append([
            f"{plan.id}: {plan.title}", plan.expect, case_cell(res, "baseline", m), case_cell(res, plan.id, m),
            diff_ci(c.diff_median, c.ci_low, c.ci_high) if c else "-", losses(finals), verdict, res.expectation(plan.id),
        ])
    return rows


def metric_rows(res: StudyResults, metric: str) -> list[list[str]]:
    rows = []
    if metric in res.floor:
        rows.append(["real vs real (floor)", "-", num(res.floor[metric]), "-", "-", "-", "-"])
    for c in res.comparisons[metric]:
        rows.append([c.case, num(c.baseline_median), num(c.case_median), diff_ci(c.diff_median, c.ci_low, c.ci_high),
                     f"{p_value(c.p_value)} ({p_value(c.p_holm)})", num(c.p_better, 2), c.verdict])
    return rows


def _trained(described: dict) -> str:
    others = described.get("seed_batched_with") or []
    return f"seed-batched with {len(others)} other seed{'s' if len(others) > 1 else ''}" if others else "alone"


def render(res: StudyResults) -> str:
    s = res.study
    m = res.primary
    arrow = "lower is better" if get_metric(m).lower_is_better else "higher is better"
    out = [f"# Study: {s.meta.name}", ""]
    if s.meta.description:
        out += [s.meta.description, ""]
    out += ["## What this study says", "", res.summary, ""]
    out += [f"- Warning: {w}" for w in res.warnings]
    if res.warnings:
        out.append("")
    out += [
        f"Primary metric: **{m}** ({arrow}), over seeds {s.seeds}, each case paired with the baseline by seed. "
        f"The difference is case minus baseline, its median over seeds with a 95% bootstrap interval. "
        f"A change has no effect when that whole interval lies within +/-{100 * s.meta.equivalence:g}% of the "
        "baseline's median; it improves or worsens when a paired permutation test on signed ranks, Holm-corrected "
        "across the cases, says so (p < 0.05) and the interval excludes 0, or when it diverges or collapses "
        "significantly more or less often than the baseline (Fisher's exact test).",
        "",
    ]
    if res.floor and m in res.floor:
        out += [f"Real data scores {num(res.floor[m])} on {m} ({res.floor_note}): no generator is expected to beat it.", ""]
    out += ["## Results", ""]
    out += _table(["change", "expected", f"baseline {m}: median [range]", f"case {m}: median [range]",
                   "difference: median [95% CI]", "final losses (median)", "verdict", "expectation held"],
                  main_rows(res))
    out += ["", "Final losses are the last logged values, as the write-up printed them "
            "(`D loss`, `acc.`, `G loss`); they describe the game, not the quality of the images.", ""]
    out += ["## Why each verdict", ""]
    for c in res.comparisons.get(m, []):
        out.append(f"- **{c.case}** — {c.verdict}: {c.reason}.")
    out.append("")
    out += ["## Every metric", ""]
    for metric in res.metric_names:
        spec = get_metric(metric)
        out += [f"### {metric} ({'lower' if spec.lower_is_better else 'higher'} is better)", "", spec.summary, ""]
        out += _table(["case", "baseline median", "case median", "difference: median [95% CI]", "p (Holm)",
                       "P(case better)", "verdict"], metric_rows(res, metric))
        out.append("")
    out += ["## Diverged and collapsed runs", ""]
    fail_rows = []
    for c in res.comparisons.get(m, []):
        f = c.failures
        fail_rows.append([c.case, f"{f['case_diverged']} of {f['case_runs']}", f"{f['case_collapsed']} of {f['case_runs']}",
                          f"{f['baseline_diverged'] + f['baseline_collapsed']} of {f['baseline_runs']}", p_value(c.fisher_p)])
    out += _table(["case", "diverged", "collapsed (< half the classes)", "baseline diverged or collapsed",
                   "Fisher exact p"], fail_rows)
    out += ["", "## Provenance", ""]
    prov = res.provenance
    out += [f"- {k}: {v}" for k, v in prov.items()]
    out += [f"- seeds: {s.seeds}", f"- study file: {s.path}", ""]
    out += ["### Runs", ""]
    out += _table(["case", "seed", "run", "status", "device", "threads", "trained", "wall time (s)"], [
        [r.row.case, str(r.row.seed), r.row.run_hash[:8], r.row.status, str(r.described.get("device", "-")),
         str(r.described.get("threads", "-")), _trained(r.described), num(r.wall_seconds, 3)]
        for r in res.runs
    ])
    out += ["", "### Resolved configs", "", "The baseline, every key:", "", "```toml"]
    base = res.study.case("baseline").config.flat()
    out += [f"{k} = {value_repr(v)}" for k, v in base.items() if k != "train.seed"]
    out += ["```", "", "Each case differs from it in:", ""]
    for plan in res.study.cases[1:]:
        changes = "; ".join(f"`{k} = {value_repr(new)}`" for k, _, new in plan.changes) or "nothing"
        extra = f" (and {plan.derived} keys its architecture preset sets)" if plan.derived else ""
        out.append(f"- {plan.id} (config {plan.config_hash[:8]}): {changes}{extra}")
    out.append("")
    return "\n".join(out)

