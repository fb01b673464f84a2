"""report.md: the write-up's table done right, the per-metric tables, provenance.
Plain GitHub-flavoured markdown: tables and text, no raw HTML."""

from __future__ import annotations

import math

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
    """The metric of the case's runs that the verdicts use (complete ones, collapsed included)."""
    return [r.row.metrics[metric] for r in res.case_runs(case)
            if r.row.usable() and metric in r.row.metrics]


def case_cell(res: StudyResults, case: str, metric: str) -> str:
    """Median [range] of the usable runs, and how many runs were not usable."""
    runs = res.case_runs(case)
    text = median_range(case_values(res, case, metric))
    collapsed = sum(r.row.collapsed(res.n_classes) for r in runs)
    diverged = sum(r.row.status == "diverged" for r in runs)
    notes = [f"{n} {what}" for n, what in ((collapsed, "collapsed"), (diverged, "diverged")) if n]
    return text + (f" ({', '.join(notes)} of {len(runs)})" if notes else "")


def verdict_cell(c) -> str:  # noqa: ANN001 - a Comparison or None
    if c is None:
        return "not run yet"
    text = c.verdict
    if c.verdict == "inconclusive":
        if c.still_open:
            text += f" (the next round gives it {c.seeds_wanted} seeds)"
        elif c.seeds_needed:
            text += f" (about {c.seeds_needed} seeds would settle it)"
    return text


def seeds_cell(c) -> str:  # noqa: ANN001
    return "-" if c is None or not c.seeds else str(c.seeds)


def main_rows(res: StudyResults) -> list[list[str]]:
    """One row per case: change, expectation, baseline, case, difference, seeds, losses, verdict, held."""
    m = res.primary
    rows = []
    for plan in res.study.cases[1:]:
        c = res.verdict(plan.id)
        finals = [r.row.final for r in res.case_runs(plan.id)]
        rows.append([
            f"{plan.id}: {plan.title}", plan.expect, case_cell(res, "baseline", m), case_cell(res, plan.id, m),
            diff_ci(c.diff, c.ci_low, c.ci_high) if c and c.seeds else "-", seeds_cell(c),
            losses(finals), verdict_cell(c), res.expectation(plan.id),
        ])
    return rows


def metric_rows(res: StudyResults, metric: str) -> list[list[str]]:
    rows = []
    if metric in res.floor:
        rows.append(["real vs real (floor)", "-", num(res.floor[metric]), "-", "-", "-", "-"])
    for c in res.comparisons[metric]:
        rows.append([c.case, num(c.baseline_median), num(c.case_median),
                     diff_ci(c.diff, c.ci_low, c.ci_high) if c.seeds else "-", seeds_cell(c),
                     f"{p_value(c.p_value)} ({p_value(c.p_adjusted)})", c.verdict])
    return rows


def interval_label(res: StudyResults) -> str:
    """Every interval shown has the same coverage, 1 - alpha, whatever look a case stopped at."""
    return f"{100 * (1 - res.study.meta.alpha):g}% interval"


def metric_header(res: StudyResults) -> list[str]:
    return ["case", "baseline median", "case median", f"difference [{interval_label(res)}]", "seeds", "p (adjusted)",
            "verdict"]


def method_text(res: StudyResults) -> list[str]:
    """How the verdicts were reached, in the study's own terms (a paragraph, then bullets)."""
    s = res.study.meta
    design = s.design()
    band = (f"+/-{num(s.equivalence_abs)} {res.primary}" if s.equivalence_abs else
            f"+/-{100 * s.equivalence:g}% of the baseline's median")
    control = ("Holm's correction (the chance of any false 'improves' or 'worsens' in the study is at most "
               f"{s.alpha:g})" if s.error_control == "holm" else
               f"the Benjamini-Hochberg procedure (false discovery rate at most {s.alpha:g})")
    seeds = (f"{design.looks[0]} seeds" if not design.adaptive_ else
             f"{design.looks[0]} seeds at first; cases still undecided got more, analysed at "
             f"{', '.join(map(str, design.looks))} seeds (alpha shared between these analyses, so looking after "
             "every round does not raise the error rates)")
    pairing = ("each case's runs against the baseline's as two samples (GAN training is chaotic: "
               "runs with the same seed barely pair)" if s.pairing == "none" else
               "each case's runs paired with the baseline's by seed (declared in the study: pairing = \"seed\")")
    return [
        f"Primary metric: **{res.primary}** ({'lower' if get_metric(res.primary).lower_is_better else 'higher'} "
        f"is better). The difference is case minus baseline: the difference of their means over seeds (10% trimmed "
        "from 10 runs up), with its confidence interval (Welch/Yuen t), comparing " + pairing + ".",
        "",
        f"- Seeds: {seeds}.",
        f"- **improves** / **worsens**: the interval lies wholly beyond the equivalence band ({band}), "
        f"by a test adjusted with {control}; or the case diverges or collapses more (or less) often than the "
        "baseline (Fisher's exact test on the counts of diverged and collapsed runs; a collapsed run keeps its "
        "metric, a diverged one has none).",
        f"- **no effect**: the {100 * (1 - 2 * s.alpha):g}% interval (two one-sided tests) lies inside the band, and "
        f"the case fails no more often than the baseline; each such verdict is wrong at most {100 * s.alpha:g}% of the "
        "time.",
        "- **inconclusive**: neither, with the reason; **does not change training**: the same runs as the baseline.",
        *_power_line(res),
        "- Error rates and power of this procedure are shown by simulation: docs/statistics.md in the ganstudy "
        "repository.",
    ]


def _power_line(res: StudyResults) -> list[str]:
    if res.detectable is None:
        return []
    beyond, units = res.detectable
    if not math.isfinite(beyond):
        return ["- What these seeds could find: no difference in the metric could be shown (too few seeds for the "
                "cases tested); only failures could decide."]
    text = f"{beyond:.1f} seed-SDs beyond the band"
    if units is not None:
        text += f" (about {num(units)} {res.primary} from the baseline, with its seed-to-seed spread)"
    return [f"- What these seeds could find with 80% power: a difference of {text}; smaller ones stay inconclusive."]


def pairing_text(res: StudyResults) -> str:
    p = res.pairing
    if p is None:
        return ""
    text = (f"Seeds paired with a correlation of {p.r:.2f} (95% interval {p.low:.2f} to {p.high:.2f}) between a case "
            f"and the baseline at the same seed, over {p.pairs} pairs of {p.cases} case{'s' if p.cases > 1 else ''}: "
            f"{p.advice}")
    if p.low > 0.3 and res.study.meta.pairing == "none":
        text += ' (declare `pairing = "seed"` in the next study)'
    return text + "."


def _trained(described: dict) -> str:
    others = described.get("seed_batched_with") or []
    return f"seed-batched with {len(others)} other seed{'s' if len(others) > 1 else ''}" if others else "alone"


def render(res: StudyResults) -> str:
    s = res.study
    m = res.primary
    out = [f"# Study: {s.meta.name}", ""]
    if s.meta.description:
        out += [s.meta.description, ""]
    out += ["## What this study says", "", res.summary, ""]
    out += [f"- Warning: {w}" for w in res.warnings]
    if res.warnings:
        out.append("")
    out += method_text(res) + [""]
    if res.floor and m in res.floor:
        out += [f"Real data scores {num(res.floor[m])} on {m} ({res.floor_note}): no generator is expected to beat it.", ""]
    out += ["## Results", ""]
    out += _table(["change", "expected", f"baseline {m}: median [range]", f"case {m}: median [range]",
                   f"difference [{interval_label(res)}]", "seeds", "final losses (median)", "verdict", "expectation held"],
                  main_rows(res))
    out += ["", "Final losses are the last logged values, as the write-up printed them "
            "(`D loss`, `acc.`, `G loss`); they describe the game, not the quality of the images.", ""]
    out += ["## Why each verdict", ""]
    for c in res.comparisons.get(m, []):
        stopped = f" ({c.stopped})" if c.stopped else ""
        out.append(f"- **{c.case}** — {c.verdict}{stopped}: {c.reason}.")
    if pairing_text(res):
        out += ["", pairing_text(res)]
    out.append("")
    out += ["## Every metric", ""]
    for metric in res.metric_names:
        spec = get_metric(metric)
        out += [f"### {metric} ({'lower' if spec.lower_is_better else 'higher'} is better)", "", spec.summary, ""]
        out += _table(metric_header(res), metric_rows(res, metric))
        out.append("")
    out += ["## Diverged and collapsed runs", ""]
    fail_rows = []
    for c in res.comparisons.get(m, []):
        f = c.failures
        if c.verdict == "does not change training" or not f:
            continue
        fail_rows.append([c.case, f"{f['case_diverged']} of {f['case_runs']}", f"{f['case_collapsed']} of {f['case_runs']}",
                          f"{f['baseline_failed']} of {f['baseline_runs']}", p_value(c.fisher_p)])
    out += _table(["case", "diverged", f"collapsed (< half the {res.n_classes} classes)",
                   "baseline diverged or collapsed", "Fisher exact p"], fail_rows)
    out += ["", "## Provenance", ""]
    prov = res.provenance
    out += [f"- {k}: {v}" for k, v in prov.items()]
    out += [f"- seeds: {s.meta.seeds_text()}", f"- study file: {s.path}", ""]
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

