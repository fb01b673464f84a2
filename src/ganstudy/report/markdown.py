"""report.md: the write-up's table done right, the per-metric tables, provenance.
Plain GitHub-flavoured markdown: tables and text, no raw HTML; every user string escaped."""

from __future__ import annotations

import re

from ..metrics.registry import get as get_metric
from . import dose
from .collect import StudyResults
from .format import value_repr
from .tables import (
    RUN_HEADER,
    failure_header,
    failure_rows,
    main_header,
    main_rows,
    metric_header,
    metric_rows,
    run_rows,
)
from .text import floor_text, method_text, pairing_text


def escape(text: str, pipes: bool = True) -> str:
    """A user's string as literal text in markdown: no emphasis, links, headings or HTML (a
    table cell escapes its pipes itself)."""
    specials = r"([\\`*_{}\[\]()#+!~>" + ("|" if pipes else "") + "])"
    return re.sub(specials, r"\\\1", str(text)).replace("<", "&lt;").replace("\n", " ")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render(res: StudyResults) -> str:
    s = res.study
    m = res.primary
    out = [f"# Study: {escape(s.meta.name)}", ""]
    if s.meta.description:
        out += [escape(s.meta.description), ""]
    if res.partial_text:
        out += [f"**{res.partial_text}**", ""]
    out += ["## What this study says", "", res.summary, ""]
    out += [f"- Warning: {w}" for w in res.warnings]
    if res.warnings:
        out.append("")
    out += method_text(res) + [""]
    if floor_text(res):
        out += [floor_text(res), ""]
    out += ["## Results", ""]
    out += _table(main_header(res), main_rows(res, user=lambda t: escape(t, pipes=False)))
    out += ["", "Final losses are the last logged values, as the write-up printed them "
            "(`D loss`, `acc.`, `G loss`); they describe the game, not the quality of the images.", ""]
    out += ["## Why each verdict", ""]
    for c in res.comparisons.get(m, []):
        stopped = f" ({c.stopped})" if c.stopped else ""
        out.append(f"- **{c.case}** — {c.verdict}{stopped}: {c.reason}.")
    if pairing_text(res):
        out += ["", pairing_text(res)]
    out.append("")
    for sweep in dose.sweeps(res):
        out += [f"## Sweep {escape(sweep)}: {escape(res.primary)} against the value", ""]
        header, rows = dose.table(res, sweep)
        out += _table([escape(h) for h in header], [[escape(c) for c in row] for row in rows])
        out += ["", "report.html draws it (dose-response, with each point's interval).", ""]
    out += ["## Every metric", ""]
    for metric in res.metric_names:
        spec = get_metric(metric)
        out += [f"### {metric} ({'lower' if spec.lower_is_better else 'higher'} is better)", "", spec.summary, ""]
        out += _table(metric_header(res), metric_rows(res, metric))
        out.append("")
    out += ["## Diverged and collapsed runs", ""]
    out += _table(failure_header(res), failure_rows(res))
    out += ["", "## Provenance", ""]
    out += [f"- {k}: {v}" for k, v in res.provenance.items()]
    out += [f"- seeds: {s.seeds_text()}", f"- study file: {escape(s.path)}", ""]
    out += ["### Runs", ""]
    out += _table(RUN_HEADER, run_rows(res))
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
