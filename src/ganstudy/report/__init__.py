"""Reports of a study: report.md, report.html and results.csv in ``<study dir>/report/``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..atomic import write_text
from .collect import StudyResults, collect


def results_csv(res: StudyResults) -> str:
    """One row per case x seed: identity, status, every config key, every metric and final loss."""
    config_keys = list(res.runs[0].config) if res.runs else []
    metric_keys = sorted({k for r in res.runs for k in r.row.metrics})
    final_keys = sorted({k for r in res.runs for k in r.row.final})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["case", "seed", "run_hash", "status", "wall_seconds", *config_keys,
                     *[f"metric.{k}" for k in metric_keys], *[f"final.{k}" for k in final_keys]])
    for r in res.runs:
        writer.writerow([r.row.case, r.row.seed, r.row.run_hash, r.row.status, r.wall_seconds or "",
                         *[r.config.get(k) for k in config_keys], *[r.row.metrics.get(k, "") for k in metric_keys],
                         *[r.row.final.get(k, "") for k in final_keys]])
    return buffer.getvalue()


def write_report(path: str | Path, data_root: str | Path | None = None, floor: bool = True) -> tuple[StudyResults, Path]:
    """Analyse the study in folder ``path`` and write its three report files."""
    from . import html, markdown

    res = collect(path, floor=floor, data_root=data_root)
    folder = res.out / "report"
    write_text(folder / "report.md", markdown.render(res))
    write_text(folder / "report.html", html.render(res))
    write_text(folder / "results.csv", results_csv(res))
    return res, folder
