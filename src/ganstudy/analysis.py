"""Paired statistics and verdicts: does a change improve, worsen or not affect a metric?

Pure functions over a table of per-run results (one :class:`RunRow` per case x seed).
For each case against the baseline, paired by seed:

- the difference in the metric (case - baseline): its median (the estimate the verdict
  uses, with a percentile bootstrap interval from scipy.stats.bootstrap) and its mean;
- a paired permutation test (scipy.stats.permutation_test, sign flips; exact for up to
  12 pairs) on the signed-rank statistic, so one extreme seed weighs as one rank, not as
  its size: a collapse cannot hide behind, or dominate, a mean;
- Holm's correction across the cases of the study (scipy has no Holm; it is three lines);
- the probability that the case beats the baseline (bootstrap medians on the better side);
- an equivalence band (``equivalence`` x the baseline's median): a difference whose whole
  interval lies inside the band is "no effect".

Collapsed runs (classes covered below half of the data's) keep their metric, which is
what they produced; diverged or failed runs have none. Both are counted per case and
compared with the baseline's by Fisher's exact test. The verdict of a case comes from the
primary metric; the other metrics get the same analysis and are reported, not voted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

IMPROVES, WORSENS, NO_EFFECT, INCONCLUSIVE, SAME = (
    "improves", "worsens", "no effect", "inconclusive", "does not change training")
#: A run whose generator covers fewer than this share of the classes has collapsed.
COLLAPSE_SHARE = 0.5
MAX_SEEDS = 200


@dataclass
class RunRow:
    case: str
    seed: int
    status: str  # complete, diverged, failed...
    metrics: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)  # last logged d_loss, d_acc, g_loss
    run_hash: str = ""

    def collapsed(self, n_classes: int) -> bool:
        covered = self.metrics.get("classes_covered")
        return self.status == "complete" and covered is not None and covered < COLLAPSE_SHARE * n_classes

    def usable(self) -> bool:
        """Has a metric to compare (complete; a collapsed run's metric counts, it is what it made)."""
        return self.status == "complete"


@dataclass
class Comparison:
    """One case against the baseline on one metric."""

    case: str
    metric: str
    lower_is_better: bool
    n_pairs: int
    baseline_median: float
    case_median: float
    diff_mean: float
    diff_median: float
    ci_low: float  # the interval is of the median difference
    ci_high: float
    p_value: float
    p_holm: float
    p_better: float
    band: float
    verdict: str
    reason: str
    seeds_needed: int | None = None
    failures: dict[str, int] = field(default_factory=dict)  # diverged / collapsed counts, case and baseline
    fisher_p: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: controls the family-wise error rate across cases."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def signed_rank(diffs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Wilcoxon's statistic: the sum of the ranks of |d| with the signs of d (ties averaged)."""
    return (np.sign(diffs) * stats.rankdata(np.abs(diffs), axis=axis)).sum(axis=axis)


def paired_permutation_p(diffs: np.ndarray, *, resamples: int = 9999, seed: int = 0) -> float:
    """Two-sided p of 'case and baseline do not differ': the sign of each pair's difference
    flipped in every way (exact up to 12 pairs), on the signed-rank statistic."""
    if len(diffs) < 2 or not np.any(diffs):
        return 1.0
    result = stats.permutation_test(
        (diffs,), signed_rank, permutation_type="samples", alternative="two-sided", vectorized=True,
        n_resamples=resamples if len(diffs) > 12 else np.inf, random_state=seed,
    )
    return float(min(1.0, result.pvalue))


def bootstrap_median_ci(diffs: np.ndarray, level: float, *, resamples: int = 4999,
                        seed: int = 0) -> tuple[float, float, np.ndarray]:
    """Percentile bootstrap interval of the median difference, and the bootstrap distribution."""
    if len(diffs) < 2 or np.ptp(diffs) == 0:
        value = float(np.median(diffs)) if len(diffs) else float("nan")
        return value, value, np.full(1, value)
    result = stats.bootstrap((diffs,), np.median, confidence_level=level, n_resamples=resamples,
                             method="percentile", random_state=seed)
    return float(result.confidence_interval.low), float(result.confidence_interval.high), result.bootstrap_distribution


def seeds_to_settle(diffs: np.ndarray, band: float, alpha: float, cases: int) -> int | None:
    """About how many seeds would likely settle the question (80% power, Holm's worst case)."""
    if len(diffs) < 2:
        return max(6, len(diffs) + 3)
    # Robust location and scale: the median and 1.4826 x the median absolute deviation.
    mean = abs(float(np.median(diffs)))
    sd = float(stats.median_abs_deviation(diffs, scale="normal")) or float(diffs.std(ddof=1))
    if sd == 0:
        return None
    z_alpha = stats.norm.ppf(1 - alpha / (2 * max(cases, 1)))
    z_power = stats.norm.ppf(0.8)
    if mean > band / 2:  # aim at showing the difference
        n = ((z_alpha + z_power) * sd / mean) ** 2
    else:  # aim at showing it lies inside the band
        room = band - mean
        n = ((z_alpha + z_power) * sd / room) ** 2 if room > 0 else float("inf")
    # An exact paired permutation test needs 2^n / 2 > 1 / alpha to reach alpha at all.
    floor = math.ceil(math.log2(2 / alpha)) + 1
    n = max(n, floor, len(diffs) + 1)
    return int(math.ceil(n)) if n <= MAX_SEEDS else MAX_SEEDS + 1


def _failures(rows: list[RunRow], n_classes: int) -> tuple[int, int, int]:
    """(diverged or failed, collapsed, total) among ended runs."""
    diverged = sum(r.status in ("diverged", "failed") for r in rows)
    collapsed = sum(r.collapsed(n_classes) for r in rows)
    return diverged, collapsed, len(rows)


def compare(table: Iterable[RunRow], metric: str, lower_is_better: bool, *, equivalence: float = 0.05,
            alpha: float = 0.05, same_as_baseline: Iterable[str] = (), n_classes: int = 10,
            baseline: str = "baseline") -> list[Comparison]:
    """Every case against ``baseline`` on ``metric``, with Holm correction across the cases."""
    rows = list(table)
    same = set(same_as_baseline)
    by_case: dict[str, dict[int, RunRow]] = {}
    for r in rows:
        by_case.setdefault(r.case, {})[r.seed] = r
    base = by_case.get(baseline, {})
    base_values = [r.metrics[metric] for r in base.values() if r.usable() and metric in r.metrics]
    base_median = float(np.median(base_values)) if base_values else float("nan")
    band = equivalence * abs(base_median) if base_values else float("nan")
    cases = [c for c in by_case if c != baseline]
    tested = [c for c in cases if c not in same]
    results: dict[str, Comparison] = {}
    p_values: dict[str, float] = {}
    for case in cases:
        runs = by_case[case]
        seeds = sorted(s for s in runs if s in base and runs[s].usable() and base[s].usable()
                       and metric in runs[s].metrics and metric in base[s].metrics)
        diffs = np.array([runs[s].metrics[metric] - base[s].metrics[metric] for s in seeds], dtype=np.float64)
        case_values = [r.metrics[metric] for r in runs.values() if r.usable() and metric in r.metrics]
        c_div, c_col, c_n = _failures(list(runs.values()), n_classes)
        b_div, b_col, b_n = _failures(list(base.values()), n_classes)
        fisher_p = 1.0
        if c_n and b_n and (c_div + c_col + b_div + b_col):
            fisher_p = float(stats.fisher_exact([[c_div + c_col, c_n - c_div - c_col],
                                                 [b_div + b_col, b_n - b_div - b_col]]).pvalue)
        low, high, boot = bootstrap_median_ci(diffs, 1 - alpha) if len(diffs) else (math.nan, math.nan, np.zeros(0))
        better = (boot < 0) if lower_is_better else (boot > 0)
        p_better = float(better.mean() + 0.5 * (boot == 0).mean()) if len(boot) else math.nan
        p = paired_permutation_p(diffs) if case in tested else 1.0
        if case in tested:
            p_values[case] = p
        results[case] = Comparison(
            case, metric, lower_is_better, len(diffs), base_median,
            float(np.median(case_values)) if case_values else math.nan,
            float(diffs.mean()) if len(diffs) else math.nan, float(np.median(diffs)) if len(diffs) else math.nan,
            low, high, p, 1.0, p_better, band, INCONCLUSIVE, "",
            failures={"case_diverged": c_div, "case_collapsed": c_col, "case_runs": c_n,
                      "baseline_diverged": b_div, "baseline_collapsed": b_col, "baseline_runs": b_n},
            fisher_p=fisher_p,
        )
    adjusted = dict(zip(p_values, holm(list(p_values.values()))))
    for case, comp in results.items():
        comp.p_holm = adjusted.get(case, 1.0)
        _decide(comp, case in same, alpha, len(tested), by_case[case], base)
    return [results[c] for c in cases]


def _decide(c: Comparison, same: bool, alpha: float, n_tested: int, runs: dict[int, RunRow],
            base: dict[int, RunRow]) -> None:
    if same:
        c.verdict, c.reason = SAME, "same run hash as the baseline: these are the baseline's runs"
        return
    fails_case = c.failures["case_diverged"] + c.failures["case_collapsed"]
    fails_base = c.failures["baseline_diverged"] + c.failures["baseline_collapsed"]
    if c.fisher_p < alpha and fails_case != fails_base:
        worse = fails_case > fails_base
        c.verdict = WORSENS if worse else IMPROVES
        c.reason = (f"{fails_case} of {c.failures['case_runs']} runs diverged or collapsed against {fails_base} of "
                    f"{c.failures['baseline_runs']} for the baseline (Fisher p = {c.fisher_p:.3g})")
        return
    if c.n_pairs < 2:
        f = c.failures
        c.verdict = INCONCLUSIVE
        c.reason = (f"only {c.n_pairs} seed pair(s) to compare: {f['case_diverged'] + f['case_collapsed']} of "
                    f"{f['case_runs']} case runs and {f['baseline_diverged'] + f['baseline_collapsed']} of "
                    f"{f['baseline_runs']} baseline runs diverged or collapsed (or have not ended)")
        c.seeds_needed = max(6, len(runs) + 3)
        return
    good_side = (c.ci_high < 0) if c.lower_is_better else (c.ci_low > 0)
    bad_side = (c.ci_low > 0) if c.lower_is_better else (c.ci_high < 0)
    if c.p_holm < alpha and (good_side or bad_side):
        c.verdict = IMPROVES if good_side else WORSENS
        c.reason = f"paired permutation p = {c.p_value:.3g} (Holm {c.p_holm:.3g}), interval excludes 0"
        return
    if -c.band < c.ci_low and c.ci_high < c.band:
        c.verdict = NO_EFFECT
        c.reason = f"the whole {100 * (1 - alpha):.0f}% interval lies within +/-{c.band:.3g} (the equivalence band)"
        return
    c.verdict = INCONCLUSIVE
    diffs = np.array([runs[s].metrics[c.metric] - base[s].metrics[c.metric] for s in runs
                      if s in base and runs[s].usable() and base[s].usable()
                      and c.metric in runs[s].metrics and c.metric in base[s].metrics])
    c.seeds_needed = seeds_to_settle(diffs, c.band, alpha, n_tested)
    floor = 2 / 2 ** c.n_pairs
    why = f"p = {c.p_value:.3g} (Holm {c.p_holm:.3g})"
    if floor >= alpha:
        why += f"; with {c.n_pairs} seeds no paired test can go below p = {floor:.3g}"
    c.reason = why


def loss_moved(table: Iterable[RunRow], case: str, baseline: str = "baseline", share: float = 0.1) -> bool:
    """Did the case's final D or G loss move by more than ``share`` of the baseline's? (The
    write-ups read losses as quality; the report warns when they moved but quality did not.)"""
    rows = list(table)
    for key in ("d_loss", "g_loss"):
        b = [r.final[key] for r in rows if r.case == baseline and r.status == "complete" and key in r.final]
        c = [r.final[key] for r in rows if r.case == case and r.status == "complete" and key in r.final]
        if b and c and abs(np.median(c) - np.median(b)) > share * abs(np.median(b)):
            return True
    return False


def expectation_held(expect: str, verdict: str) -> str:
    """'yes', 'no', 'unknown' (not settled) or '-' (no expectation)."""
    wanted = {"improve": IMPROVES, "worsen": WORSENS, "no effect": NO_EFFECT}.get(expect)
    if wanted is None:
        return "-"
    if verdict == INCONCLUSIVE:
        return "unknown"
    if verdict == SAME:
        return "yes" if wanted == NO_EFFECT else "no"
    return "yes" if verdict == wanted else "no"


def summary_sentence(comparisons: list[Comparison], metric: str) -> str:
    """'2 changes improve fid, 1 worsens it, 5 have no effect, 4 need more seeds'."""
    counts = {v: sum(c.verdict == v for c in comparisons) for v in (IMPROVES, WORSENS, NO_EFFECT, SAME, INCONCLUSIVE)}
    phrases = {  # (singular, plural); {m} is the metric the first time it is named, "it" after
        IMPROVES: ("change improves {m}", "changes improve {m}"),
        WORSENS: ("change worsens {m}", "changes worsen {m}"),
        NO_EFFECT: ("has no effect on {m}", "have no effect on {m}"),
        SAME: ("does not change training", "do not change training"),
        INCONCLUSIVE: ("needs more seeds", "need more seeds"),
    }
    parts = []
    for verdict, n in counts.items():
        if n:
            text = phrases[verdict][n > 1].format(m=metric if not parts else "it")
            if parts and verdict in (IMPROVES, WORSENS):
                text = text.split(" ", 1)[1]  # "1 worsens it", not "1 change worsens it"
            elif not parts and not text.startswith("change"):
                text = ("changes " if n > 1 else "change ") + text  # the sentence names what it counts
            parts.append(f"{n} {text}")
    if not parts:
        return "No case to compare."
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return text[0].upper() + text[1:] + "."
