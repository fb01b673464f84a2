"""Figures as PNG bytes (matplotlib, Agg): training curves and per-seed strip plots."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .collect import RunInfo, StudyResults  # noqa: E402

BASE_COLOUR, CASE_COLOUR = "#7f7f7f", "#d62728"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def curves(res: StudyResults, case: str) -> bytes:
    """D loss, G loss, D accuracy and the primary metric over iterations; baseline vs case, a line per seed."""
    fig, axes = plt.subplots(1, 4, figsize=(14, 2.8))
    panels = [("d_loss", "D loss"), ("g_loss", "G loss"), ("d_acc", "D accuracy")]
    groups: list[tuple[str, list[RunInfo], str]] = [("baseline", res.case_runs("baseline"), BASE_COLOUR),
                                                    (case, res.case_runs(case), CASE_COLOUR)]
    for ax, (key, title) in zip(axes, panels):
        for label, runs, colour in groups:
            for i, run in enumerate(runs):
                log = run.metrics_log()
                ax.plot([r["iteration"] for r in log], [r[key] for r in log], color=colour, alpha=0.6, lw=0.8,
                        label=label if i == 0 else None)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration", fontsize=8)
        ax.tick_params(labelsize=7)
    ax = axes[3]
    for label, runs, colour in groups:
        for i, run in enumerate(runs):
            log = [r for r in run.eval_log() if res.primary in r]
            ax.plot([r["iteration"] for r in log], [r[res.primary] for r in log], "o-", color=colour, alpha=0.6, lw=0.8,
                    ms=3, label=label if i == 0 else None)
    if res.primary in res.floor:
        ax.axhline(res.floor[res.primary], color="#2ca02c", ls="--", lw=1, label="real data")
    ax.set_title(res.primary, fontsize=9)
    ax.set_xlabel("iteration", fontsize=8)
    ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def strip(res: StudyResults) -> bytes:
    """The primary metric of every seed of every case, with the baseline's median and the real floor."""
    m = res.primary
    cases = [p.id for p in res.study.cases]
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(cases) + 2), 3.6))
    base_vals = [r.row.metrics[m] for r in res.case_runs("baseline") if m in r.row.metrics]
    if base_vals:
        import numpy as np

        ax.axhline(float(np.median(base_vals)), color=BASE_COLOUR, lw=1, ls=":", label="baseline median")
    for x, case in enumerate(cases):
        runs = [r for r in res.case_runs(case) if m in r.row.metrics]
        ys = [r.row.metrics[m] for r in runs]
        xs = [x + 0.08 * (i - (len(ys) - 1) / 2) for i in range(len(ys))]
        ax.scatter(xs, ys, s=18, color=BASE_COLOUR if case == "baseline" else CASE_COLOUR, zorder=3)
        failed = [r for r in res.case_runs(case) if r.row.status in ("diverged", "failed")]
        if failed:
            ax.annotate(f"{len(failed)} diverged", (x, ax.get_ylim()[1]), fontsize=7, ha="center", va="top")
    if m in res.floor:
        ax.axhline(res.floor[m], color="#2ca02c", ls="--", lw=1, label="real data (floor)")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(m)
    ax.legend(fontsize=7)
    return _png(fig)
