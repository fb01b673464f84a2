"""Figures as PNG bytes (matplotlib, Agg): training curves and per-seed strip plots.

Legends sit outside the axes, so they never cover data; each PNG carries what it shows in
its metadata (``ganstudy``: the points drawn per panel and whether a legend overlaps a
panel), which the report's test reads back."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import matplotlib

from ..base.status import Status

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .collect import RunInfo, StudyResults  # noqa: E402

BASE_COLOUR, CASE_COLOUR, FLOOR_COLOUR = "#7f7f7f", "#d62728", "#2ca02c"
TICKS, LABELS = 8, 9


def png_bytes(fig, points: dict[str, int]) -> bytes:
    """The figure as PNG, with what it shows in its metadata."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    overlap = any(leg.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
                  for leg in legends for ax in fig.axes)
    meta = {"ganstudy": json.dumps({"points": points, "legend_overlaps_data": overlap})}
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata=meta)
    plt.close(fig)
    return buffer.getvalue()


_DRAWN: dict[tuple, bytes] = {}  # what each figure was drawn from -> its PNG, for this process's next report


def memo(key: tuple, draw: Callable[[], bytes]) -> bytes:
    """A figure drawn again only when what it shows changed: a live report, rewritten as each
    run ends, redraws the figures of that run's case, not the whole study's."""
    if key not in _DRAWN:
        if len(_DRAWN) > 512:
            _DRAWN.clear()
        _DRAWN[key] = draw()
    return _DRAWN[key]


def _file_state(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
        return st.st_size, st.st_mtime_ns
    except OSError:
        return -1, -1


def runs_state(runs: list[RunInfo]) -> tuple:
    """What a figure drawn from these runs' logs and scores depends on."""
    return tuple((str(r.run_dir), r.row.status, json.dumps(r.row.metrics, sort_keys=True),
                  *(_file_state(r.run_dir / name) if r.run_dir else (0, 0) for name in ("metrics.jsonl", "eval.jsonl")))
                 for r in runs)


def style_axes(ax, title: str, ylabel: str, xlabel: str = "iterations trained") -> None:
    ax.set_title(title, fontsize=LABELS)
    ax.set_xlabel(xlabel, fontsize=LABELS)
    ax.set_ylabel(ylabel, fontsize=LABELS)
    ax.tick_params(labelsize=TICKS)
    ax.grid(alpha=0.3, lw=0.5)


def _curve_rows(run: RunInfo, metric: str) -> list[dict]:
    """The run's curve of ``metric``: its cheap points through training (one protocol), or,
    for runs scored before curves existed, every evaluation it has."""
    rows = [r for r in run.eval_log() if metric in r]
    curve = [r for r in rows if r.get("curve")]
    return curve or rows


def curves(res: StudyResults, case: str) -> bytes:
    """D loss, G loss, D accuracy and the primary metric through training; baseline (grey, solid,
    underneath) and case (red, dashed, on top: both show where they coincide), a line per seed."""
    key = ("curves", case, res.primary, runs_state(res.case_runs("baseline") + res.case_runs(case)))
    return memo(key, lambda: _curves(res, case))


def _curves(res: StudyResults, case: str) -> bytes:
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.0))
    panels = [("d_loss", "D loss", "loss"), ("g_loss", "G loss", "loss"), ("d_acc", "D accuracy", "accuracy")]
    groups = [("baseline", res.case_runs("baseline"), dict(color=BASE_COLOUR, lw=1.8, ls="-", alpha=0.6)),
              (case, res.case_runs(case), dict(color=CASE_COLOUR, lw=1.0, ls="--", alpha=0.9))]
    points: dict[str, int] = {}
    for ax, (key, title, ylabel) in zip(axes, panels):
        n = 0
        for _, runs, style in groups:
            for run in runs:
                log = [r for r in run.metrics_log() if key in r]
                ax.plot([r["iteration"] + 1 for r in log], [r[key] for r in log], **style)
                n += len(log)
        style_axes(ax, title, ylabel)
        points[title] = n
    ax, m = axes[3], res.primary
    n, samples = 0, None
    for _, runs, style in groups:
        for run in runs:
            rows = _curve_rows(run, m)
            ax.plot([r["iteration"] for r in rows], [r[m] for r in rows], marker="o", ms=3, **style)
            n += len(rows)
            samples = samples or next((r["protocol"].split("/gen")[1].split("/")[0] for r in rows
                                       if "/gen" in r.get("protocol", "")), None)
    style_axes(ax, f"{m} through training" + (f" ({samples} samples)" if samples else ""), m)
    points[m] = n
    handles = [plt.Line2D([], [], **groups[0][2], label="baseline (a line per seed)"),
               plt.Line2D([], [], **groups[1][2], label=f"{case} (a line per seed)")]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=LABELS, frameon=False)
    fig.tight_layout()
    return png_bytes(fig, points)


def strip(res: StudyResults) -> bytes:
    """The primary metric of every seed of every case, collapsed seeds marked, with the
    baseline's median and the real-data floor."""
    key = ("strip", res.primary, tuple(p.id for p in res.study.cases), runs_state(res.runs),
           res.floor.get(res.primary), res.n_classes)
    return memo(key, lambda: _strip(res))


def _strip(res: StudyResults) -> bytes:
    m = res.primary
    cases = [p.id for p in res.study.cases]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cases) + 2), 3.8))
    base_vals = [r.row.metrics[m] for r in res.case_runs("baseline") if r.row.usable(res.n_classes)
                 and m in r.row.metrics]
    if base_vals:
        ax.axhline(float(np.median(base_vals)), color=BASE_COLOUR, lw=1, ls=":", label="baseline median")
    n, any_collapsed, notes = 0, False, []
    for x, case in enumerate(cases):
        runs = [r for r in res.case_runs(case) if r.row.status == Status.COMPLETE and m in r.row.metrics]  # collapses marked
        colour = BASE_COLOUR if case == "baseline" else CASE_COLOUR
        for i, r in enumerate(runs):
            collapsed = r.row.collapsed(res.n_classes)
            any_collapsed |= collapsed
            ax.scatter(x + 0.08 * (i - (len(runs) - 1) / 2), r.row.metrics[m], s=40 if collapsed else 18, zorder=3,
                       marker="X" if collapsed else "o", color=colour, edgecolors="black" if collapsed else "none")
        n += len(runs)
        diverged = sum(r.row.status == Status.DIVERGED for r in res.case_runs(case))
        if diverged:
            notes.append(f"{case}: {diverged} diverged (no {m})")
    if m in res.floor:
        ax.axhline(res.floor[m], color=FLOOR_COLOUR, ls="--", lw=1, label="real data (floor)")
    if any_collapsed:
        ax.scatter([], [], marker="X", color="white", edgecolors="black", s=40,
                   label=f"collapsed (< half of the {res.n_classes} classes)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=30, ha="right", fontsize=TICKS)
    style_axes(ax, f"{m} of every seed" + ("; " + "; ".join(notes) if notes else ""), m, xlabel="")
    ax.legend(fontsize=TICKS, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return png_bytes(fig, {m: n})
