"""report.html: one self-contained page (images embedded) with the same tables as the
markdown, sample grids of each case beside the baseline's, training curves and strip
plots. Every string that comes from a user is escaped."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from ..metrics import get as get_metric
from . import figures
from .collect import StudyResults
from .markdown import interval_label, main_rows, method_text, metric_header, metric_rows, pairing_text

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.summary { font-size: 1.2em; background: #f7f7ff; border-left: 4px solid #5560d0; padding: 0.6em 1em; }
.warning { background: #fff6e0; border-left: 4px solid #e0a000; padding: 0.4em 1em; }
.v-improves { color: #1a7f37; font-weight: bold; } .v-worsens { color: #b3261e; font-weight: bold; }
.v-no-effect { color: #555; font-weight: bold; } .v-inconclusive { color: #9a6700; font-weight: bold; }
.v-does-not-change-training { color: #555; }
.grids { display: flex; gap: 2em; align-items: flex-start; }
.grids figure { margin: 0; text-align: center; }
.grids img { width: 220px; image-rendering: pixelated; border: 1px solid #ddd; }
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


def _grid_pair(res: StudyResults, case: str) -> str:
    """The case's sample grid beside the baseline's, same seed, same iteration when both have one."""
    base = {r.row.seed: r for r in res.case_runs("baseline") if r.run_dir}
    for run in res.case_runs(case):
        other = base.get(run.row.seed)
        if not (run.run_dir and other and (run.run_dir / "samples").is_dir() and (other.run_dir / "samples").is_dir()):
            continue
        mine = {p.name: p for p in (run.run_dir / "samples").glob("iter_*.png")}
        theirs = {p.name: p for p in (other.run_dir / "samples").glob("iter_*.png")}
        common = sorted(set(mine) & set(theirs))
        if common:
            a, b = theirs[common[-1]], mine[common[-1]]
        elif mine and theirs:
            a, b = theirs[max(theirs)], mine[max(mine)]
        else:
            continue
        return "<div class='grids'>" + "".join(
            f"<figure>{_img(Path(p).read_bytes(), label)}<figcaption>{escape(label)}</figcaption></figure>"
            for p, label in ((a, f"baseline, seed {run.row.seed}, {_iteration(a)}"),
                             (b, f"{case}, seed {run.row.seed}, {_iteration(b)}"))
        ) + "</div>"
    return "<p>No sample grids yet.</p>"


def _method_html(res: StudyResults) -> str:
    """The markdown's method text as HTML: its bold words bold, every user string escaped."""
    import re

    def inline(text: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", re.sub(r"`(.+?)`", r"<code>\1</code>", escape(text)))

    lines = method_text(res)
    items = "".join(f"<li>{inline(line[2:])}</li>" for line in lines if line.startswith("- "))
    return f"<p>{inline(lines[0])}</p><ul>{items}</ul>"


def _iteration(path: Path) -> str:
    return f"iteration {int(path.stem.split('_')[1])}"


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
    parts.append(f"<p class='summary'>{escape(res.summary)}</p>")
    parts += [f"<p class='warning'>{escape(w)}</p>" for w in res.warnings]
    parts.append(_method_html(res))
    if m in res.floor:
        parts.append(f"<p>Real data scores <b>{res.floor[m]:.4g}</b> ({escape(res.floor_note)}).</p>")
    parts.append("<h2>Results</h2>")
    parts.append(_table(["change", "expected", f"baseline {m}", f"case {m}", f"difference [{interval_label(res)}]",
                         "seeds", "final losses (median)", "verdict", "expectation held"], main_rows(res), verdict_col=7))
    if pairing_text(res):
        parts.append(f"<p>{escape(pairing_text(res))}</p>")
    if any(m in r.row.metrics for r in res.runs):
        parts.append(f"<h2>{escape(m)} of every seed</h2>" + _img(figures.strip(res), f"{m} per seed", "plot"))
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
        parts.append(_grid_pair(res, plan.id))
        if any(r.run_dir for r in res.case_runs(plan.id)):
            parts.append(_img(figures.curves(res, plan.id), f"training curves of {plan.id}", "plot"))
        parts.append("</div>")
    parts.append("<h2>Every metric</h2>")
    for metric in res.metric_names:
        parts.append(f"<h3>{escape(metric)}</h3><p>{escape(get_metric(metric).summary)}</p>")
        parts.append(_table(metric_header(res), metric_rows(res, metric), verdict_col=6))
    parts.append("<h2>Provenance</h2><ul>")
    parts += [f"<li>{escape(k)}: {escape(str(v))}</li>" for k, v in res.provenance.items()]
    parts.append("</ul><p>The full resolved configs are in report.md and results.csv.</p></body></html>")
    return "\n".join(parts)
