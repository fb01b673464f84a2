"""Verdicts: does a change improve, worsen or not affect a metric? Per-run results in,
one :class:`Comparison` per case out.

This module turns a study's table of runs (one :class:`RunRow` per case x seed) into the
arrays of :mod:`ganstudy.stats` and its decisions back into sentences. The statistics
themselves (tests, boundaries, the procedure over cases and looks, its simulated error
rates) live in ``stats/``; ``docs/statistics.md`` says why they are what they are.

What counts: a *complete* run has a metric. A *collapsed* one (its samples cover fewer than
half of the evaluator's classes) has one too, but it measures the collapse (nearly the same
value every time), so it leaves the metric test; a *diverged* run (its loss became NaN) has
no metric. Diverged and collapsed runs are both failures: counted, and compared by Fisher's
exact test. A *failed* run (an error, not an outcome of training) is missing: it is
retried, and once given up it is left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..base.status import Status
from ..stats.design import VERDICTS, Design, baseline_band
from ..stats.power import seeds_to_settle
from ..stats.procedure import Decisions, decide, seeds_wanted

IMPROVES, WORSENS, NO_EFFECT, INCONCLUSIVE, SAME = (
    "improves", "worsens", "no effect", "inconclusive", "does not change training")
#: A run whose generator covers fewer than this share of the classes has collapsed.
COLLAPSE_SHARE = 0.5


@dataclass
class RunRow:
    case: str
    seed: int
    status: str  # complete, diverged, failed, pending, interrupted, running
    metrics: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)  # last logged d_loss, d_acc, g_loss
    run_hash: str = ""
    gave_up: bool = False  # failed for good: it will not come

    def collapsed(self, n_classes: int) -> bool:
        covered = self.metrics.get("classes_covered")
        return self.status == Status.COMPLETE and covered is not None and covered < COLLAPSE_SHARE * n_classes

    def failed(self, n_classes: int) -> bool:
        """A failure of training: diverged, or collapsed onto a few classes."""
        return self.status == Status.DIVERGED or self.collapsed(n_classes)

    def usable(self, n_classes: int) -> bool:
        """Has a metric the verdicts use: complete and not collapsed (a collapse's metric
        measures the collapse; it is counted as a failure instead)."""
        return self.status == Status.COMPLETE and not self.collapsed(n_classes)

    @property
    def ended(self) -> bool:
        return self.status in (Status.COMPLETE, Status.DIVERGED)

    @property
    def settled(self) -> bool:
        """Ended, or known never to end."""
        return self.ended or self.gave_up


@dataclass(kw_only=True)
class Comparison:
    """One case against the baseline on one metric. A figure is None where no test gave it
    (a case that does not change training, one not analysed yet)."""

    case: str
    metric: str
    lower_is_better: bool
    verdict: str
    reason: str = ""
    band: float | None = None
    seeds: int = 0  # seeds of the case the verdict rests on (0: not analysed)
    baseline_seeds: int = 0  # ... and of the baseline
    n_case: int = 0  # runs of the case / the baseline with a metric the test used
    n_baseline: int = 0
    baseline_median: float | None = None
    case_median: float | None = None
    diff: float | None = None  # difference of means, case - baseline
    ci_low: float | None = None  # the repeated interval
    ci_high: float | None = None
    ci_level: float | None = None  # what it covers whatever look the case stopped at: 1 - alpha
    ci_level_look: float | None = None  # its nominal confidence at its own look
    p_value: float | None = None  # the minimum-effect test at the look shown (nominal, two-sided)
    p_adjusted: float | None = None  # over looks and across cases: improves/worsens when below alpha
    p_equivalent: float | None = None  # the two one-sided tests, over looks
    seeds_needed: int | None = None
    failures: dict[str, int] = field(default_factory=dict)
    fisher_p: float | None = None
    stopped: str = ""  # why the case got no more seeds (adaptive studies)
    still_open: bool = False  # an adaptive study will give it more seeds
    futile: bool = False  # stopped early: it could not be decided by the last look
    eq_low: float | None = None  # the interval 'no effect' rests on (two one-sided tests)
    eq_high: float | None = None
    seeds_wanted: int = 0  # seeds of the case it should have before the next analysis
    last_look: int = -1  # the last analysis it took part in (index into the design's looks)
    against: str = "baseline"  # what it is compared with: the baseline, or the case a fine-tune continues

    @property
    def tested(self) -> bool:
        return self.seeds > 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def equivalence_band(baseline_values: list[float], relative: float, absolute: float | None) -> float:
    """The smallest difference that matters: ``absolute`` when given, else ``relative`` x the
    median of the baseline's runs given (0 when that median is 0: then only an absolute band helps)."""
    if absolute is not None:
        return float(absolute)
    values = np.asarray(baseline_values, dtype=np.float64)
    return float(baseline_band(values, np.zeros(values.shape, bool), len(values), relative)) if len(values) else math.nan


def _arrays(by_case: dict[str, dict[int, RunRow]], arms: list[str], seeds: list[int], metric: str,
            n_classes: int) -> tuple[np.ndarray, ...]:
    shape = (len(arms), len(seeds))
    values, failed, ended, settled = np.full(shape, np.nan), np.zeros(shape, bool), np.zeros(shape, bool), \
        np.zeros(shape, bool)
    for a, arm in enumerate(arms):
        for j, seed in enumerate(seeds):
            row = by_case.get(arm, {}).get(seed)
            if row is None:
                continue
            if row.status == Status.COMPLETE and metric in row.metrics and math.isfinite(row.metrics[metric]):
                values[a, j] = row.metrics[metric]  # a collapse's too: ``decide`` leaves failed runs out
            failed[a, j], ended[a, j], settled[a, j] = row.failed(n_classes), row.ended, row.settled
    return values, failed, ended, settled


def compare(table: Iterable[RunRow], metric: str, lower_is_better: bool, *, design: Design, seeds: list[int],
            equivalence: float = 0.05, equivalence_abs: float | None = None, same_as_baseline: Iterable[str] = (),
            n_classes: int = 10, baseline: str = "baseline", follow: dict[str, int] | None = None) -> list[Comparison]:
    """Every case against ``baseline`` on ``metric``, decided by ``design`` over the study's
    ``seeds`` (in the order they are added; as many as the baseline's last look). ``follow``
    (case -> look) makes cases stop where the primary metric's decisions stopped them
    (secondary metrics). The band is fixed before any verdict: ``equivalence_abs``, or
    ``equivalence`` x the median of the baseline's runs at the first look that did not fail."""
    rows = list(table)
    same = set(same_as_baseline)
    by_case: dict[str, dict[int, RunRow]] = {}
    for r in rows:
        by_case.setdefault(r.case, {})[r.seed] = r
    cases = [c for c in by_case if c != baseline]
    tested = [c for c in cases if c not in same]
    arms = _arrays(by_case, [baseline, *tested], seeds, metric, n_classes)
    band = float(equivalence_abs) if equivalence_abs is not None else \
        float(baseline_band(arms[0][0], arms[1][0], design.baseline_looks[0], equivalence))
    results: dict[str, Comparison] = {}
    if tested:
        stop_at = None if follow is None else np.array([follow.get(c, -1) for c in tested])
        d = decide(*arms, 0.0 if math.isnan(band) else band, design, lower_is_better, stop_at=stop_at)
        for i, case in enumerate(tested):
            results[case] = _comparison(case, i, d, design, metric, lower_is_better, band, len(tested), by_case,
                                        baseline, seeds, n_classes)
    for case in cases:
        if case in same:
            results[case] = Comparison(case=case, metric=metric, lower_is_better=lower_is_better, verdict=SAME,
                                       band=band, reason=(
                "same run hash as the baseline: these are the baseline's runs, and no test was run"))
    return [results[c] for c in cases]


def _values(by_case: dict[str, dict[int, RunRow]], case: str, seeds: list[int], metric: str,
            n_classes: int) -> list[float]:
    """The metric of the case's runs among ``seeds`` that the test used."""
    runs = [by_case.get(case, {}).get(s) for s in seeds]
    return [r.metrics[metric] for r in runs if r is not None and r.usable(n_classes) and metric in r.metrics
            and math.isfinite(r.metrics[metric])]


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _comparison(case: str, i: int, d: Decisions, design: Design, metric: str, lower_is_better: bool, band: float,
                cases: int, by_case: dict[str, dict[int, RunRow]], baseline: str, seeds: list[int],
                n_classes: int) -> Comparison:
    look = int(d.look[i])
    c = Comparison(case=case, metric=metric, lower_is_better=lower_is_better, verdict=VERDICTS[int(d.verdict[i])],
                   band=band,
                   still_open=bool(d.open[i]), futile=bool(d.futile[i]), seeds_wanted=int(seeds_wanted(d, design)[i]),
                   last_look=int(d.stopped[i]))
    if look < 0:
        c.reason = "not analysed yet: the runs of its first analysis have not all ended"
        return c
    n, nb = design.looks[look], design.baseline_looks[look]
    mine, base = _values(by_case, case, seeds[:n], metric, n_classes), _values(by_case, baseline, seeds[:nb], metric,
                                                                                n_classes)
    fc, nc, fb, nbr = (int(x) for x in d.fails[i])
    runs = [r for s in seeds[:n] if (r := by_case.get(case, {}).get(s)) is not None]
    number = lambda x: None if not math.isfinite(float(x)) else float(x)  # noqa: E731
    c.seeds, c.baseline_seeds, c.n_case, c.n_baseline = int(d.seeds[i]), nb, len(mine), len(base)
    c.baseline_median, c.case_median = _median(base), _median(mine)
    c.diff, c.ci_low, c.ci_high = number(d.diff[i]), number(d.low[i]), number(d.high[i])
    c.ci_level, c.ci_level_look = float(d.level[i]), float(d.level_look[i])
    c.p_value, c.p_adjusted, c.p_equivalent = float(d.p_look[i]), float(d.p_adjusted[i]), float(d.p_equivalent[i])
    c.eq_low, c.eq_high, c.fisher_p = number(d.eq_low[i]), number(d.eq_high[i]), float(d.p_failures[i])
    c.failures = {"case_failed": fc, "case_runs": nc, "baseline_failed": fb, "baseline_runs": nbr,
                  "case_diverged": sum(r.status == Status.DIVERGED for r in runs),
                  "case_collapsed": sum(r.collapsed(n_classes) for r in runs)}
    c.reason = _reason(c, d, i, design, cases)
    if c.verdict == INCONCLUSIVE and len(mine) >= 2 and len(base) >= 2 and c.diff is not None:
        a, b = np.array(mine), np.array(base)
        spread = float(np.sqrt((((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / (len(a) + len(b) - 2)))
        c.seeds_needed = seeds_to_settle(c.diff, spread, band, design.alpha, cases, design.pairing, n)
    if design.adaptive_:
        c.stopped = _stopped(c, d, i, design)
    return c


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def interval_name(c: Comparison, design: Design) -> str:
    """What the shown interval is: '95% interval', or for an adaptive study '95% repeated
    interval (99.9% at 3 seeds)' (it covers at every look at once)."""
    level = f"{100 * (c.ci_level or 0):.4g}%"
    if not design.adaptive_ or c.ci_level_look is None:
        return f"{level} interval"
    return f"{level} repeated interval ({100 * c.ci_level_look:.3g}% at {c.seeds} seeds)"


def _reason(c: Comparison, d: Decisions, i: int, design: Design, cases: int) -> str:
    """Why the verdict, in a sentence that is true of the numbers."""
    control = "Holm" if design.error_control == "holm" else "Benjamini-Hochberg"
    over = [w for w, on in (("the analyses so far", design.adaptive_), (f"{cases} cases ({control})", cases > 1)) if on]
    adjusted = f"adjusted over {' and '.join(over)}: {c.p_adjusted:.3g}" if over else ""
    f = c.failures
    fails = (f"{f['case_failed']} of {f['case_runs']} runs diverged or collapsed against {f['baseline_failed']} "
             f"of {f['baseline_runs']} for the baseline")
    interval = interval_name(c, design)
    band = f"+/-{_fmt(c.band)}"
    if c.verdict in (IMPROVES, WORSENS):
        if d.by_failures[i]:
            return f"{fails} (Fisher exact p = {c.fisher_p:.3g}{'; ' + adjusted if adjusted else ''})"
        return (f"the {interval} of the difference, [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}], lies beyond the "
                f"equivalence band {band} (p = {c.p_value:.3g}{'; ' + adjusted if adjusted else ''})")
    if c.verdict == NO_EFFECT:
        return (f"the {100 * (1 - 2 * design.alpha):.4g}% {'repeated ' if design.adaptive_ else ''}interval of the "
                f"difference, [{_fmt(c.eq_low)}, {_fmt(c.eq_high)}], lies inside the equivalence band {band} (two "
                f"one-sided tests, p = {c.p_equivalent:.3g}" + (" over the analyses so far" if design.adaptive_ else "")
                + ")")
    if c.n_case < 2 or c.n_baseline < 2 or c.ci_low is None:
        why = (f"too few runs with a metric the test can use ({c.n_case} for the case, {c.n_baseline} for the "
               f"baseline; {fails})" if c.n_case < 2 or c.n_baseline < 2 else
               "every run of both scored the same: no spread to judge a difference by")
        if f["case_failed"] + f["baseline_failed"]:
            why += f"; Fisher exact p = {c.fisher_p:.3g}" + (f", {adjusted}" if adjusted else "")
        return why
    band_text = (f"the equivalence band {band}" if c.band and c.band > 0 else
                 "the equivalence band 0 (the baseline's median is 0): set study.equivalence_abs")
    inside = -c.band < c.ci_low and c.ci_high < c.band if c.band else False
    beyond = c.ci_low > (c.band or 0) or c.ci_high < -(c.band or 0)
    if beyond:
        return (f"its {interval} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] lies beyond {band_text} (p = "
                f"{c.p_value:.3g}), but its p {adjusted} is not below {design.alpha:g}")
    text = (f"its {interval} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] "
            + (f"lies inside {band_text}" if inside else f"straddles the edge of {band_text}"))
    if inside:  # then the narrower TOST interval is inside too: what held 'no effect' back is the failures
        text += f", but the case fails more often than the baseline ({fails})"
    if c.ci_low > 0 or c.ci_high < 0:
        text += ": it differs from the baseline, but not credibly by more than the band"
    return text


def _stopped(c: Comparison, d: Decisions, i: int, design: Design) -> str:
    if c.verdict != INCONCLUSIVE:
        return f"decided at {c.seeds} seeds"
    if c.futile:
        last = design.looks[-1]
        effect, no_effect = float(d.chance_effect[i]), float(d.chance_no_effect[i])
        return (f"stopped at {c.seeds} seeds: it could not be decided by {last} (with {last} seeds, the chance of "
                f"showing a difference beyond the band was {100 * effect:.0f}%, of showing 'no effect' "
                f"{100 * no_effect:.0f}%)")
    if d.open[i]:
        nxt = design.looks[min(int(d.stopped[i]) + 1, len(design.looks) - 1)]
        return f"undecided at {c.seeds} seeds: the next round gives it {nxt}"
    return f"undecided at the most seeds the study allows ({design.looks[-1]})"


def loss_moved(table: Iterable[RunRow], case: str, baseline: str = "baseline", share: float = 0.1) -> bool:
    """Did the case's final D or G loss move by more than ``share`` of the baseline's? (The
    write-ups read losses as quality; the report warns when they moved but quality did not.)"""
    rows = list(table)
    for key in ("d_loss", "g_loss"):
        b = [r.final[key] for r in rows if r.case == baseline and r.status == Status.COMPLETE and key in r.final]
        c = [r.final[key] for r in rows if r.case == case and r.status == Status.COMPLETE and key in r.final]
        if b and c and abs(np.median(c) - np.median(b)) > share * abs(np.median(b)):
            return True
    return False


@dataclass
class Pairing:
    """How much seeds pair: the correlation between a case's and the baseline's metric at the
    same seed, pooled over cases (Fisher's z, weighted by pairs - 3), with a 95% interval
    (approximate: the cases share the baseline's runs)."""

    r: float
    low: float
    high: float
    pairs: int
    cases: int

    @property
    def advice(self) -> str:
        if self.low > 0.3:
            return "pairing by seed would help"
        if self.high < 0.5:
            return "pairing by seed would not help much"
        return "too few pairs to tell whether pairing by seed would help"


def pairing_correlation(table: Iterable[RunRow], metric: str, baseline: str = "baseline",
                        same_as_baseline: Iterable[str] = (), n_classes: int = 10) -> Pairing | None:
    """Advice for the next study's ``pairing``, never used to choose this one's test."""
    rows = list(table)
    base = {r.seed: r.metrics[metric] for r in rows if r.case == baseline and r.usable(n_classes) and metric in r.metrics}
    same = set(same_as_baseline)
    zs, weights, pairs = [], [], 0
    for case in sorted({r.case for r in rows} - {baseline} - same):
        xy = [(base[r.seed], r.metrics[metric]) for r in rows
              if r.case == case and r.seed in base and r.usable(n_classes) and metric in r.metrics]
        if len(xy) >= 4:
            x, y = np.array(xy).T
            if x.std() > 0 and y.std() > 0:
                zs.append(math.atanh(float(np.clip(np.corrcoef(x, y)[0, 1], -0.999999, 0.999999))))
                weights.append(len(xy) - 3)
                pairs += len(xy)
    if not zs:
        return None
    z, w = float(np.average(zs, weights=weights)), float(sum(weights))
    half = 1.96 / math.sqrt(w)
    return Pairing(math.tanh(z), math.tanh(z - half), math.tanh(z + half), pairs, len(zs))


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
