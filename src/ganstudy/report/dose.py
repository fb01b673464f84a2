"""Dose-response of a sweep: the primary metric against the swept value.

Two panels share the x axis. Above: every seed's metric (dots) and the median of each
value (a line; one line per value of a grid's second key), with the baseline's runs at the
baseline's own value. Below: each point's difference from the baseline with the interval
its verdict rests on (the same repeated-CI as the report's tables, so its coverage holds
whatever look a case stopped at), the no-effect band shaded, markers coloured by verdict.
A value a sweep shares with the baseline trains as the baseline: it is drawn there."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..spec.study import CasePlan
from .collect import StudyResults
from .figures import BASE_COLOUR, TICKS, memo, plt, png_bytes, runs_state, style_axes
from .format import diff_ci, num
from .tables import case_values, interval_label, verdict_cell

VERDICT_COLOUR = {"improves": "#2ca02c", "worsens": "#d62728", "no effect": "#1f77b4"}
OTHER_COLOUR = "#9467bd"  # inconclusive, not run yet


def sweeps(res: StudyResults) -> dict[str, list[CasePlan]]:
    """Each sweep's cases, in the order the sweep lists its values."""
    out: dict[str, list[CasePlan]] = {}
    for plan in res.study.cases:
        if plan.point is not None:
            out.setdefault(plan.point.sweep, []).append(plan)
    return out


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def _axis(values: list[Any]) -> tuple[dict[str, float], str]:
    """x position of each value, and the axis scale: the values themselves (log when they are
    positive and span a factor of 10 or more), else one slot each in the sweep's order."""
    keys = [repr(v) for v in values]
    if _numeric(values):
        scale = "log" if min(values) > 0 and max(values) >= 10 * min(values) else "linear"
        return {k: float(v) for k, v in zip(keys, values)}, scale
    return {k: float(i) for i, k in enumerate(dict.fromkeys(keys))}, "linear"


def _nudge(x: float, k: int, lines: int, scale: str, xs: dict[str, float]) -> float:
    """A grid's lines side by side at one value, so their intervals do not hide each other."""
    shift = (k - (lines - 1) / 2) * 0.04
    if scale == "log":
        return x * 10 ** (shift * math.log10(max(xs.values()) / min(xs.values()) or 10))
    return x + shift * ((max(xs.values()) - min(xs.values())) or 1.0)


def figure(res: StudyResults, sweep: str) -> bytes:
    plans = sweeps(res)[sweep]
    shown = tuple((p.id, c.to_json().__repr__() if (c := res.verdict(p.id)) else None) for p in plans)
    return memo(("dose", sweep, res.primary, shown, runs_state(res.runs)), lambda: _figure(res, sweep))


def _figure(res: StudyResults, sweep: str) -> bytes:
    plans = sweeps(res)[sweep]
    keys = plans[0].point.keys
    m = res.primary
    base_value = res.study.cases[0].config.flat().get(keys[0])
    xs, scale = _axis([p.point.values[0] for p in plans] + ([base_value] if _numeric([base_value]) and
                                                             _numeric([p.point.values[0] for p in plans]) else []))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    series = {}  # the grid's second key's value -> its points
    for p in plans:
        series.setdefault(repr(p.point.values[1]) if len(keys) > 1 else "", []).append(p)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    n_points, n_intervals, any_collapsed = 0, 0, False
    for k, (label, members) in enumerate(series.items()):
        colour = colours[k % len(colours)] if len(keys) > 1 else "black"
        medians = []
        for p in members:
            x, vals = _nudge(xs[repr(p.point.values[0])], k, len(series), scale, xs), case_values(res, p.id, m)
            top.scatter([x] * len(vals), vals, s=14, color=colour, alpha=0.6, zorder=3)
            failed = [r.row.metrics[m] for r in res.case_runs(p.id) if r.row.collapsed(res.n_classes) and m in r.row.metrics]
            top.scatter([x] * len(failed), failed, s=30, marker="x", color=colour, zorder=3,
                        label=None if any_collapsed or not failed else "collapsed (left out of the verdicts)")
            any_collapsed |= bool(failed)
            n_points += len(vals) + len(failed)
            medians.append((x, float(np.median(vals)) if vals else np.nan))
            c = res.verdict(p.id)
            if c is not None and c.ci_low is not None and math.isfinite(c.ci_low) and math.isfinite(c.ci_high):
                bottom.errorbar([x], [c.diff], yerr=[[c.diff - c.ci_low], [c.ci_high - c.diff]], fmt="o", ms=5,
                                capsize=3, color=VERDICT_COLOUR.get(c.verdict, OTHER_COLOUR))
                n_intervals += 1
        top.plot(*zip(*medians), color=colour, lw=1.5, label=f"median, {keys[1]} = {label}" if label else "median")
    base = case_values(res, "baseline", m)
    if base and repr(base_value) in xs:
        top.scatter([xs[repr(base_value)]] * len(base), base, s=30, marker="D", color=BASE_COLOUR, zorder=4,
                    label=f"baseline ({keys[0]} = {base_value})")
    band = next((c.band for p in plans if (c := res.verdict(p.id)) is not None and c.seeds), None)
    if band:
        bottom.axhspan(-band, band, color="#bbbbbb", alpha=0.35, label="no-effect band")
    bottom.axhline(0, color=BASE_COLOUR, lw=1, ls=":")
    for ax in (top, bottom):
        ax.set_xscale(scale)
        lo, hi = min(xs.values()), max(xs.values())  # the sweep's range even before any run has a score
        ax.set_xlim(*((lo / 1.5, hi * 1.5) if scale == "log" else (lo - 0.1 * (hi - lo or 5), hi + 0.1 * (hi - lo or 5))))
        if not _numeric([p.point.values[0] for p in plans]):
            ax.set_xticks(sorted(set(xs.values())), [str(p.point.values[0]) for p in plans][: len(set(xs.values()))])
    style_axes(top, f"{m} against {keys[0]} (sweep {sweep})", m, xlabel="")
    style_axes(bottom, "", f"{m} − baseline", xlabel=keys[0])
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLOUR.items()]
    handles.append(plt.Line2D([], [], marker="o", ls="", color=OTHER_COLOUR, label="inconclusive / not run yet"))
    top.legend(fontsize=TICKS, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    bottom.legend(handles=handles + bottom.get_legend_handles_labels()[0], fontsize=TICKS, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False, title=interval_label(res), title_fontsize=TICKS)
    fig.tight_layout()
    return png_bytes(fig, {m: n_points, "intervals": n_intervals})


def table(res: StudyResults, sweep: str) -> tuple[list[str], list[list[str]]]:
    """The sweep's numbers, a row a point (report.md's stand-in for the figure)."""
    plans = sweeps(res)[sweep]
    m = res.primary
    header = [*plans[0].point.keys, f"{m} median", f"difference [{interval_label(res)}]", "verdict"]
    rows = []
    for p in plans:
        c = res.verdict(p.id)
        vals = case_values(res, p.id, m)
        rows.append([*(str(v) for v in p.point.values), num(float(np.median(vals))) if vals else "-",
                     diff_ci(c.diff, c.ci_low, c.ci_high) if c and c.seeds else "-", verdict_cell(c)])
    return header, rows
