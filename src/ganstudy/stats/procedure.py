"""The decision procedure: every case against the baseline, at one or several looks.

A *design* says at how many seeds the data are analysed (its looks: one for a fixed number
of seeds, several when seeds are added where doubt remains) and how the error rate alpha is
shared between looks. At each look, for each case still open:

1. a minimum-effect test (``tests.p_effect``) on the runs with a metric: is the difference
   credibly beyond the equivalence band? Failed runs (diverged: no metric; or collapsed onto
   a few classes: a metric that measures the collapse) are also counted, and Fisher's exact
   test on the counts is a second way to show an effect. When both tests can speak (the
   failure test only when some split of that many failed runs between the arms could reach
   the look's level), the case's p is twice the smaller (Bonferroni), chosen by how many runs
   failed, never by their values. The metric may not call a case better while it fails
   credibly more often than the baseline (nor worse while it fails credibly less);
2. the case's p over looks is the smallest of ``p_look / share_look`` (Bonferroni over looks:
   valid whatever the stopping rule, since the looks a case never reaches only make it larger);
3. the cases' p-values are adjusted across the study (Holm, or Benjamini-Hochberg for
   ``error_control = "fdr"``); a case whose adjusted p < alpha **improves** or **worsens**;
4. otherwise a case whose interval at that look lies inside the band (two one-sided tests
   at alpha x share each, i.e. the 1 - 2 alpha x share interval), and that fails no more
   often than the baseline, has **no effect** (each such verdict is wrong with probability
   at most alpha; these are not adjusted across cases);
5. decided cases stop; the others get more seeds at the next look, up to the last.

Since every case's p can only fall from look to look and Holm's (and BH's) rejections grow
as p-values fall, a case rejected at an early look is also rejected by the same adjustment
applied at the end: the error rate of the whole adaptive study is that of one Holm (or BH)
procedure over valid p-values. Each interval shown is a repeated confidence interval: the
look's interval at level 1 - alpha x its share, which covers the true difference with
probability at least 1 - alpha whatever the look it stopped at ('no effect' rests on the
narrower 1 - 2 alpha x share interval at its look, Schuirmann's two one-sided tests).

``decide`` is vectorised over leading axes, so the simulation in ``simulate.py`` runs the
very code that decides a real study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .tests import estimate, fisher_floor, fisher_p, p_effect, p_equivalent

INCONCLUSIVE, IMPROVES, WORSENS, NO_EFFECT = 0, 1, 2, 3
VERDICTS = {INCONCLUSIVE: "inconclusive", IMPROVES: "improves", WORSENS: "worsens", NO_EFFECT: "no effect"}
ERROR_CONTROLS = ("holm", "fdr")
PAIRINGS = ("none", "seed")
#: The share of alpha a look gets grows as (seeds / last look's seeds)^SPEND_POWER: early looks
#: decide only large effects, and the last look keeps most of alpha (see docs/statistics.md).
SPEND_POWER = 2.0


def schedule(first: int, last: int) -> tuple[int, ...]:
    """The looks of an adaptive study: start at ``first`` seeds, add about half as many again
    each round (3 -> 5 -> 8 -> 12), end at ``last`` (a last step much shorter than the others
    is merged into the one before: 3 -> 5 -> 9, not 3 -> 5 -> 8 -> 9)."""
    looks = [first]
    while looks[-1] < last:
        nxt = looks[-1] + max(1, math.ceil(looks[-1] / 2))
        if last - nxt < math.ceil(nxt / 2) / 2:  # a last step of a seed or two: one look fewer instead
            nxt = last
        looks.append(min(last, nxt))
    return tuple(looks)


def spending(looks: tuple[int, ...], power: float = SPEND_POWER) -> tuple[float, ...]:
    """alpha's share at each look: increments of (n / n_last)^power, summing to 1."""
    cum = [(n / looks[-1]) ** power for n in looks]
    return tuple(c - p for c, p in zip(cum, [0.0, *cum[:-1]]))


@dataclass(frozen=True)
class Design:
    looks: tuple[int, ...]
    alpha: float = 0.05
    error_control: str = "holm"
    pairing: str = "none"
    spend: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.spend:
            object.__setattr__(self, "spend", spending(self.looks))
        if self.error_control not in ERROR_CONTROLS or self.pairing not in PAIRINGS:
            raise ValueError(f"error_control in {ERROR_CONTROLS}, pairing in {PAIRINGS}")

    @classmethod
    def fixed(cls, seeds: int, **kw) -> Design:
        return cls((seeds,), **kw)

    @classmethod
    def adaptive(cls, first: int, last: int, **kw) -> Design:
        return cls(schedule(first, last), **kw)

    @property
    def adaptive_(self) -> bool:
        return len(self.looks) > 1

    def level(self, look: int, equivalence: bool = False) -> float:
        """Confidence of the interval computed at a look: 1 - alpha x its share (1 - 2 alpha x
        share for equivalence: two one-sided tests at alpha x share each)."""
        return 1 - (2 if equivalence else 1) * self.alpha * self.spend[look]

    def claimed(self, equivalence: bool = False) -> float:
        """What an interval shown at any look covers, whatever look a case stopped at: 1 - alpha
        (1 - 2 alpha for equivalence), since the looks' shares add up to alpha."""
        return 1 - (2 if equivalence else 1) * self.alpha


def adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Holm's step-down or Benjamini-Hochberg's step-up adjusted p-values along the last axis."""
    k = p.shape[-1]
    if k == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, -1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, ps * (k - np.arange(k))), axis=-1)
    else:
        adj = np.minimum.accumulate((ps * k / np.arange(1, k + 1))[..., ::-1], axis=-1)[..., ::-1]
        adj = np.minimum(adj, 1.0)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, -1)
    return out


@dataclass
class Decisions:
    """One entry per case (shape ``(..., K)``)."""

    verdict: np.ndarray  # INCONCLUSIVE / IMPROVES / WORSENS / NO_EFFECT
    by_failures: np.ndarray  # the effect was shown by the failure counts (Fisher), not the metric
    look: np.ndarray  # look whose interval is shown (-1: never analysed)
    stopped: np.ndarray  # look after which the case got no more seeds (-1: never analysed)
    open: np.ndarray  # still undecided, and a later look remains
    seeds: np.ndarray  # seeds (per arm) of the case when it stopped, or now
    diff: np.ndarray
    low: np.ndarray
    high: np.ndarray
    level: np.ndarray  # the coverage the shown interval has, whatever look it stopped at: 1 - alpha
    p_look: np.ndarray  # the minimum-effect p at the shown look
    p_spent: np.ndarray  # the case's p over looks (Bonferroni)
    p_adjusted: np.ndarray  # across the study
    p_equivalent: np.ndarray  # over looks
    p_failures: np.ndarray  # Fisher, at the shown look
    fails: np.ndarray  # (..., K, 4): case failures, case runs, baseline failures, baseline runs at the shown look
    reached: np.ndarray  # (...,) looks analysed
    eq_low: np.ndarray = None  # the narrower interval (1 - 2 alpha x share) of the look with the smallest
    eq_high: np.ndarray = None  # equivalence p: 'no effect' when it lies inside the band (TOST)


def decide(values: np.ndarray, failed: np.ndarray, ended: np.ndarray, settled: np.ndarray,
           band: np.ndarray | float, design: Design, lower_is_better: bool = True,
           stop_at: np.ndarray | None = None) -> Decisions:
    """Replay the design's looks over the results and decide every case.

    ``values`` (..., 1 + K, N): the metric of arm a (0 = baseline) at seed slot j, NaN when it has
    none (diverged, missing, not run); ``failed``: diverged or collapsed; ``ended``: the run
    ended (complete or diverged); ``settled``: ended, or known never to end (gave up). A look is
    analysed once every open case's runs up to it, and the baseline's, are settled.
    ``stop_at`` (..., K): the last look each case gets whatever its verdict (a secondary metric
    follows where the primary metric's decisions stopped the cases; -1: none).
    """
    values = np.asarray(values, dtype=np.float64)
    lead, k = values.shape[:-2], values.shape[-2] - 1
    band = np.broadcast_to(np.asarray(band, dtype=np.float64)[..., None] if np.ndim(band) == len(lead) else
                           np.asarray(band, dtype=np.float64), (*lead, k))
    worse_side = 1 if lower_is_better else -1
    shape = (*lead, k)
    nan = lambda: np.full(shape, np.nan)  # noqa: E731
    d = Decisions(np.zeros(shape, np.int8), np.zeros(shape, bool), np.full(shape, -1), np.full(shape, -1),
                  np.ones(shape, bool), np.zeros(shape, np.int64), nan(), nan(), nan(), nan(), np.ones(shape),
                  np.ones(shape), np.ones(shape), np.ones(shape), np.ones(shape), np.zeros((*shape, 4), np.int64),
                  np.zeros(lead, np.int64), nan(), nan())
    shown = ("diff", "low", "high", "level", "p_look", "p_failures", "fails", "look")
    at_effect = {name: getattr(d, name).copy() for name in shown}  # snapshot at the case's smallest p
    at_equiv = {name: getattr(d, name).copy() for name in shown}  # ... and at its smallest equivalence p
    side_at_min = np.zeros(shape, np.int8)
    fail_at_min = np.zeros(shape, bool)
    live = np.ones(lead, bool)  # this study's replay has reached the current look
    for look, n in enumerate(design.looks):
        share = design.spend[look]
        complete = settled[..., 1:, :n].all(-1) & settled[..., :1, :n].all(-1)
        allowed = d.open if stop_at is None else d.open & (look <= stop_at)
        live &= np.where(allowed, complete, True).all(-1)
        upd = allowed & live[..., None]
        if not upd.any():
            break
        est = estimate(values[..., :1, :n], values[..., 1:, :n], design.pairing)
        pe, side = p_effect(est, band)
        fc, nc = failed[..., 1:, :n].sum(-1), ended[..., 1:, :n].sum(-1)
        fb = np.broadcast_to(failed[..., :1, :n].sum(-1), shape)
        nb = np.broadcast_to(ended[..., :1, :n].sum(-1), shape)
        pf = fisher_p(fc, nc, fb, nb)
        case_rate, base_rate = fc / np.maximum(nc, 1), fb / np.maximum(nb, 1)
        fail_side = np.sign(case_rate - base_rate) * worse_side
        # The metric may not call a case better while it fails credibly more often than the
        # baseline (Fisher p < alpha), nor worse while it fails credibly less.
        pe = np.where(est.ok & ~((fail_side == -side) & (pf < design.alpha)), pe, 1.0)
        # Two ways to show an effect, Bonferroni between them, decided by how many runs failed
        # (not by their metric values): the failure test joins only when some split of that
        # many failures could reach this look's level; then the case's p is twice the smaller.
        both = est.ok & ((fc + fb) > 0) & (fisher_floor(fc + fb, nc, nb) <= design.alpha * share)
        p_k = np.where(both, np.minimum(1.0, 2 * np.minimum(pe, pf)), np.where(est.ok, pe, pf))
        via_fail = ~est.ok | (both & (pf < pe))
        k_side = np.where(via_fail, fail_side, side)
        pq = np.where(case_rate <= base_rate, p_equivalent(est, band), 1.0)
        low, high = est.interval(design.level(look))
        now = {"diff": est.diff, "low": low, "high": high, "level": np.full(shape, design.claimed()),
               "p_look": p_k, "p_failures": pf, "fails": np.stack([fc, nc, fb, nb], -1), "look": np.full(shape, look)}
        for name, value in now.items():
            mask = upd[..., None] if name == "fails" else upd
            setattr(d, name, np.where(mask, value, getattr(d, name)))
        better = upd & (p_k / share < d.p_spent)
        better_eq = upd & (pq / share < d.p_equivalent)
        eq_low, eq_high = est.interval(design.level(look, equivalence=True))
        d.eq_low = np.where(better_eq, eq_low, d.eq_low)
        d.eq_high = np.where(better_eq, eq_high, d.eq_high)
        for snap, mask in ((at_effect, better), (at_equiv, better_eq)):
            for name, value in now.items():
                snap[name] = np.where(mask[..., None] if name == "fails" else mask, value, snap[name])
        d.p_spent = np.where(better, p_k / share, d.p_spent)
        d.p_equivalent = np.where(better_eq, pq / share, d.p_equivalent)
        side_at_min = np.where(better, k_side, side_at_min)
        fail_at_min = np.where(better, via_fail, fail_at_min)
        d.stopped = np.where(upd, look, d.stopped)
        d.seeds = np.where(upd, n, d.seeds)
        d.p_adjusted = adjust(d.p_spent, design.error_control)
        effect = upd & (d.p_adjusted < design.alpha)
        eq = upd & ~effect & (d.p_equivalent < design.alpha)
        worse = side_at_min == worse_side
        d.verdict = np.where(effect, np.where(worse, WORSENS, IMPROVES), np.where(eq, NO_EFFECT, d.verdict)).astype(np.int8)
        d.by_failures = np.where(effect, fail_at_min, d.by_failures)
        d.open = d.open & ~(effect | eq)
        d.reached = np.where(live, look + 1, d.reached)
    # A decided case shows the look that decided it: its interval is the one that lies beyond
    # (or inside) the band.
    for snap, verdicts in ((at_effect, (IMPROVES, WORSENS)), (at_equiv, (NO_EFFECT,))):
        mask = np.isin(d.verdict, verdicts)
        for name in shown:
            setattr(d, name, np.where(mask[..., None] if name == "fails" else mask, snap[name], getattr(d, name)))
    d.open = d.open & (d.stopped < len(design.looks) - 1)  # undecided after the last look: no seeds left to give
    if stop_at is not None:
        d.open = d.open & (d.stopped < stop_at)
    return d


def seeds_wanted(d: Decisions, design: Design) -> np.ndarray:
    """Seeds (per arm) each case should have before the next analysis: the next look for an
    open case (the first for one never analysed), what it stopped at otherwise."""
    looks = np.asarray(design.looks)
    nxt = looks[np.minimum(d.stopped + 1, len(looks) - 1)]
    return np.where(d.open | (d.stopped < 0), nxt, looks[np.maximum(d.stopped, 0)])
