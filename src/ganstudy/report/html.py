"""report.html: one self-contained page (images embedded) with the same tables as the
markdown, every seed's sample grid of each case beside the baseline's, training curves and
strip plots. Every string that comes from a user is escaped."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from ..metrics.registry import get as get_metric
from . import dose, figures
from .collect import StudyResults
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

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.summary { font-size: 1.2em; background: #f7f7ff; border-left: 4px solid #5560d0; padding: 0.6em 1em; }
.warning { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.4em 1em; }
.partial { background: #e8f0ff; border-left: 4px solid #3060c0; padding: 0.4em 1em; font-weight: bold; }
.v-improves { color: #1a7f37; font-weight: bold; } .v-worsens { color: #b3261e; font-weight: bold; }
.v-no-effect { color: #555; font-weight: bold; } .v-inconclusive { color: #9a6700; font-weight: bold; }
.v-does-not-change-training { color: #555; }
.grids { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.grids figure { margin: 0; text-align: center; font-size: 0.85em; }
.grids img { width: 120px; image-rendering: pixelated; border: 1px solid #ddd; margin: 0 2px; }
img.plot { max-width: 100%; }
.case { border-top: 1px solid #ddd; margin-top: 2em; padding-top: 1em; }
code, pre { background: #f5f5f5; }
"""


def _img(data: bytes, alt: str, cls: str = "") -> str:
    encoded = base64.b64encode(data).decode()
    return f'<img class="{cls}" alt="{escape(alt)}" src="data:image/png;base64,{encoded}">'


def _table(header: list[str], rows: list[list[str]], verdict_col: int | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ""
            if i == verdict_col:
                cls = f' class="v-{escape(cell.split(" (")[0].replace(" ", "-"))}"'
            cells.append(f"<td{cls}>{escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _last_grid(run) -> dict[str, Path]:  # noqa: ANN001 - a RunInfo
    folder = run.run_dir / "samples" if run.run_dir else None
    return {p.name: p for p in folder.glob("iter_*.png")} if folder and folder.is_dir() else {}


def _grids(res: StudyResults, case: str) -> str:
    """Every seed's last sample grid, the baseline's beside it: same seed, same iteration, same noise."""
    base = {r.row.seed: r for r in res.case_runs("baseline")}
    pairs, after = [], set()
    for run in res.case_runs(case):
        other = base.get(run.row.seed)
        mine, theirs = _last_grid(run), _last_grid(other) if other else {}
        common = sorted(set(mine) & set(theirs))
        if not common:
            continue
        name = common[-1]
        after.add(_iterations(name))
        pairs.append(f"<figure>{_img(theirs[name].read_bytes(), f'baseline, seed {run.row.seed}')}"
                     f"{_img(mine[name].read_bytes(), f'{case}, seed {run.row.seed}')}"
                     f"<figcaption>seed {run.row.seed}</figcaption></figure>")
    if not pairs:
        return "<p>No sample grids yet.</p>"
    when = f"after {', '.join(map(str, sorted(after)))} iterations"
    return (f"<p>Samples {when}, each seed's baseline (left) beside the case (right): the same seed and the "
            f"same noise.</p><div class='grids'>{''.join(pairs)}</div>")


def _iterations(name: str) -> int:
    """Iterations trained when a grid was saved (its file is named by the iteration's index, as Keras-GAN did)."""
    return int(name.split("_")[1].split(".")[0]) + 1


def _method_html(res: StudyResults) -> str:
    """The markdown's method text as HTML: its bold words bold, every user string escaped."""
    import re

    def inline(text: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", re.sub(r"`(.+?)`", r"<code>\1</code>", escape(text)))

    lines = method_text(res)
    items = "".join(f"<li>{inline(line[2:])}</li>" for line in lines if line.startswith("- "))
    return f"<p>{inline(lines[0])}</p><ul>{items}</ul>"


def render(res: StudyResults) -> str:
    s = res.study
    m = res.primary
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(s.meta.name)}: ganstudy report</title><style>{CSS}</style></head><body>",
        f"<h1>Study: {escape(s.meta.name)}</h1>",
    ]
    if s.meta.description:
        parts.append(f"<p>{escape(s.meta.description)}</p>")
    if res.partial_text:
        parts.append(f"<p class='partial'>{escape(res.partial_text)}</p>")
    parts.append(f"<p class='summary'>{escape(res.summary)}</p>")
    parts += [f"<p class='warning'>{escape(w)}</p>" for w in res.warnings]
    parts.append(_method_html(res))
    if floor_text(res):
        parts.append(f"<p>{escape(floor_text(res))}</p>")
    parts.append("<h2>Results</h2>")
    parts.append(_table(main_header(res), main_rows(res), verdict_col=7))
    if pairing_text(res):
        parts.append(f"<p>{escape(pairing_text(res))}</p>")
    if any(m in r.row.metrics for r in res.runs):
        parts.append(f"<h2>{escape(m)} of every seed</h2>" + _img(figures.strip(res), f"{m} per seed", "plot"))
    for sweep in dose.sweeps(res):
        header, rows = dose.table(res, sweep)
        parts.append(f"<h2>Sweep {escape(sweep)}: {escape(m)} against the value</h2>"
                     + _img(dose.figure(res, sweep), f"dose-response of sweep {sweep}", "plot")
                     + _table(header, rows, verdict_col=len(header) - 1))
    parts.append("<h2>Cases</h2>")
    for plan in s.cases[1:]:
        c = res.verdict(plan.id)
        verdict = c.verdict if c else "not run yet"
        parts.append(f"<div class='case'><h3>{escape(plan.id)}: {escape(plan.title)} "
                     f"<span class='v-{escape(verdict.replace(' ', '-'))}'>{escape(verdict)}</span></h3>")
        if plan.rationale:
            parts.append(f"<p><i>Expected {escape(plan.expect)}:</i> {escape(plan.rationale)}</p>")
        if c:
            stopped = f" ({c.stopped})" if c.stopped else ""
            parts.append(f"<p>{escape(c.verdict + stopped)}: {escape(c.reason)}.</p>")
        changes = ", ".join(f"{k}: {old!r} → {new!r}" for k, old, new in plan.changes) or "nothing"
        parts.append(f"<p>Changes: <code>{escape(changes)}</code></p>")
        parts.append(_grids(res, plan.id))
        if any(r.run_dir for r in res.case_runs(plan.id)):
            parts.append(_img(figures.curves(res, plan.id), f"training curves of {plan.id}", "plot"))
        parts.append("</div>")
    parts.append("<h2>Every metric</h2>")
    for metric in res.metric_names:
        parts.append(f"<h3>{escape(metric)}</h3><p>{escape(get_metric(metric).summary)}</p>")
        parts.append(_table(metric_header(res), metric_rows(res, metric), verdict_col=6))
    parts.append("<h2>Diverged and collapsed runs</h2>")
    parts.append(_table(failure_header(res), failure_rows(res)))
    parts.append("<h2>Provenance</h2><ul>")
    parts += [f"<li>{escape(k)}: {escape(str(v))}</li>" for k, v in res.provenance.items()]
    parts.append(f"<li>seeds: {escape(s.seeds_text())}</li><li>study file: {escape(str(s.path))}</li></ul>")
    parts.append("<h3>Runs</h3>" + _table(RUN_HEADER, run_rows(res)))
    parts.append("<p>The full resolved configs are in report.md and results.csv.</p></body></html>")
    return "\n".join(parts)
