"""The decision procedure: every case against the baseline, at one or several looks.

A *design* says at how many seeds the data are analysed (its looks: one for a fixed number
of seeds, several when seeds are added where doubt remains), how alpha is spent over the
looks (``boundaries.py``) and whether a case that cannot be decided stops early
(``futility.py``). At each look, for each case still open:

1. **The metric test** on the runs that did not fail: a failed run (diverged: no metric; or
   collapsed onto a few classes: a metric that measures the collapse, nearly the same value
   every time) leaves it, so a collapse is never counted twice. A minimum-effect test (Welch,
   ``tests.py``): is the difference credibly beyond the equivalence band? Each side's nominal
   p becomes a sequential p over the looks through the group-sequential boundaries.
2. **The failure test**: Fisher's exact test on the counts of failed runs. It joins at the
   first look where some split of that many failures could reach the level Holm's first step
   needs (it depends on how many runs failed, never on where or on any metric value). From
   then on what is left of alpha (1 - the share the metric spent before) is split in halves
   between the two tests: conditionally on the failures, the metric spends at most its
   share before and half the rest after, Fisher at most half the rest (Bonferroni over its
   looks), so the case's p is valid. The metric may not call a case better while it fails
   credibly more often than the baseline (Fisher p < alpha), nor worse while it fails
   credibly less.
3. The cases' p-values are adjusted across the study (Holm, or Benjamini-Hochberg for
   ``error_control = "fdr"``); a case whose adjusted p < alpha **improves** or **worsens**.
   Every case's p can only fall from look to look and Holm's (and BH's) rejections grow as
   p-values fall, so a case rejected at an early look is rejected by the same adjustment at
   the end: the adaptive study's error rate is that of one Holm (or BH) procedure.
4. Otherwise a case whose repeated interval at that look (each side a one-sided test at the
   look's nominal level for alpha) lies inside the band, and that fails no more often than
   the baseline, has **no effect**: a case whose true difference is at the band's edge or
   beyond gets this verdict at most alpha of the time. Not adjusted across cases.
5. Decided cases stop; so do cases that cannot be decided by the last look (futility); the
   others get more seeds at the next look.

Each interval shown is a repeated confidence interval: the look's interval at its nominal
level, which covers the true difference at every look at once with probability 1 - alpha.

``decide`` is vectorised over leading axes, so the simulation in ``simulate.py`` runs the
very code that decides a real study.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from . import futility
from .design import IMPROVES, NO_EFFECT, WORSENS, Design
from .twosample import Estimate, estimate, fisher_floor, fisher_p, p_effect, p_equivalent


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


@dataclass(kw_only=True)
class Decisions:
    """One entry per case (shape ``(..., K)``); the shown figures are those of the look that
    decided the case, or of its last look."""

    verdict: np.ndarray  # INCONCLUSIVE / IMPROVES / WORSENS / NO_EFFECT
    by_failures: np.ndarray  # the effect was shown by the failure counts (Fisher), not the metric
    futile: np.ndarray  # stopped before the last look: it could not be decided by then
    look: np.ndarray  # look whose interval is shown (-1: never analysed)
    stopped: np.ndarray  # look after which the case got no more seeds (-1: never analysed)
    open: np.ndarray  # still undecided, and a later look remains
    seeds: np.ndarray  # seeds (per arm) of the case when it stopped, or now
    diff: np.ndarray
    low: np.ndarray  # the repeated interval (coverage ``level`` over all looks at once)
    high: np.ndarray
    level: np.ndarray  # what the shown interval covers whatever look it stopped at: 1 - alpha
    level_look: np.ndarray  # its nominal confidence at its own look
    p_look: np.ndarray  # the minimum-effect test's two-sided nominal p at the shown look
    p_case: np.ndarray  # the case's sequential p (metric and failures, over the looks)
    p_adjusted: np.ndarray  # across the study
    p_equivalent: np.ndarray  # sequential, over looks
    p_failures: np.ndarray  # Fisher, at the shown look
    fails: np.ndarray  # (..., K, 4): case failures, case runs, baseline failures, baseline runs at the shown look
    eq_low: np.ndarray  # the interval 'no effect' rests on (each side at alpha's nominal level)
    eq_high: np.ndarray
    chance_effect: np.ndarray  # at a futility stop: predicted chance of improves/worsens by the last look
    chance_no_effect: np.ndarray  # ... and of 'no effect'
    reached: np.ndarray  # (...,) looks analysed

    @classmethod
    def empty(cls, lead: tuple[int, ...], k: int) -> Decisions:
        shape = (*lead, k)
        init = {"verdict": np.zeros(shape, np.int8), "look": np.full(shape, -1), "stopped": np.full(shape, -1),
                "open": np.ones(shape, bool), "seeds": np.zeros(shape, np.int64), "fails": np.zeros((*shape, 4), np.int64),
                "reached": np.zeros(lead, np.int64), "by_failures": np.zeros(shape, bool), "futile": np.zeros(shape, bool)}
        ones = ("p_look", "p_case", "p_adjusted", "p_equivalent", "p_failures", "chance_effect", "chance_no_effect")
        return cls(**{f.name: init[f.name] if f.name in init else np.ones(shape) if f.name in ones
                      else np.full(shape, np.nan) for f in fields(cls)})


#: The figures a look computes and a case shows (those of its deciding look, or its last).
SHOWN = ("diff", "low", "high", "level_look", "p_look", "p_failures", "fails", "look")


@dataclass
class _Track:
    """A case's running sequential p-values over the looks."""

    shape: tuple[int, ...]
    up: np.ndarray = field(init=False)  # the metric's one-sided sequential p: worse side / better side
    down: np.ndarray = field(init=False)
    before: np.ndarray = field(init=False)  # the metric's two-sided p over the looks before Fisher joined
    joined: np.ndarray = field(init=False)  # Fisher has joined
    spent_before: np.ndarray = field(init=False)  # the share of alpha spent by the looks before it joined
    fisher: np.ndarray = field(init=False)  # Fisher's sequential p (Bonferroni over its looks)
    fisher_side: np.ndarray = field(init=False)
    eq: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        for name in ("up", "down", "before", "fisher", "eq"):
            setattr(self, name, np.ones(self.shape))
        self.joined = np.zeros(self.shape, bool)
        self.spent_before = np.zeros(self.shape)
        self.fisher_side = np.zeros(self.shape, np.int8)

    def metric(self) -> np.ndarray:
        return np.minimum(1.0, 2 * np.minimum(self.up, self.down))

    def case(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(the case's p, its side (+1 above the band), shown by the failures)."""
        m = self.metric()
        rest = np.maximum(1 - self.spent_before, 1e-12)
        after = np.minimum(1.0, 2 * np.minimum(m, self.fisher) / rest)
        p = np.where(self.joined, np.minimum(self.before, after), m)
        via_fail = self.joined & (self.fisher < m) & (after < self.before)
        side = np.where(via_fail, self.fisher_side, np.where(self.up <= self.down, 1, -1))
        return p, side, via_fail


def _fisher_gate(design: Design, look: int, k: int) -> float:
    """The level Holm's first step gives the failure test at a look (its half of the look's share)."""
    return design.alpha * float(design.share[look]) / (2 * max(k, 1))


def decide(values: np.ndarray, failed: np.ndarray, ended: np.ndarray, settled: np.ndarray,
           band: np.ndarray | float, design: Design, lower_is_better: bool = True,
           stop_at: np.ndarray | None = None) -> Decisions:
    """Replay the design's looks over the results and decide every case.

    ``values`` (..., 1 + K, N): the metric of arm a (0 = baseline) at seed slot j (N: at least the
    baseline's last look; a case uses the first ``looks`` slots, the baseline ``baseline_looks``), NaN when it has
    none (diverged, missing, not run); ``failed``: diverged or collapsed (its value, if any,
    leaves the metric test); ``ended``: the run ended (complete or diverged); ``settled``: ended,
    or known never to end (gave up). A look is analysed once every open case's runs up to it,
    and the baseline's, are settled. ``stop_at`` (..., K): the last look each case gets whatever
    its verdict (a secondary metric follows where the primary metric's decisions stopped the
    cases; -1: none).
    """
    values = np.where(failed, np.nan, np.asarray(values, dtype=np.float64))
    lead, k = values.shape[:-2], values.shape[-2] - 1
    band = np.broadcast_to(np.asarray(band, dtype=np.float64)[..., None] if np.ndim(band) == len(lead) else
                           np.asarray(band, dtype=np.float64), (*lead, k))
    worse = 1 if lower_is_better else -1  # the side of the band a worse case lies on
    d = Decisions.empty(lead, k)
    track = _Track((*lead, k))
    at_effect = {name: getattr(d, name).copy() for name in SHOWN}  # snapshot at the case's smallest p
    at_equiv = {name: getattr(d, name).copy() for name in SHOWN}  # ... and at its smallest equivalence p
    side_at_min = np.zeros((*lead, k), np.int8)
    fail_at_min = np.zeros((*lead, k), bool)
    live = np.ones(lead, bool)  # this study's replay has reached the current look
    for look, (n, nb) in enumerate(zip(design.looks, design.baseline_looks)):
        complete = settled[..., 1:, :n].all(-1) & settled[..., :1, :nb].all(-1)
        allowed = d.open if stop_at is None else d.open & (look <= stop_at)
        live &= np.where(allowed, complete, True).all(-1)
        upd = allowed & live[..., None]
        if not upd.any():
            break
        est = estimate(values[..., :1, :nb], values[..., 1:, :n], design.pairing)
        counts = np.stack([failed[..., 1:, :n].sum(-1), ended[..., 1:, :n].sum(-1),
                           np.broadcast_to(failed[..., :1, :nb].sum(-1), band.shape),
                           np.broadcast_to(ended[..., :1, :nb].sum(-1), band.shape)], -1)
        now = _look(design, look, est, counts, band, worse, track, upd, k)
        p_case, side, via_fail = track.case()
        for name, value in now.items():
            setattr(d, name, np.where(upd[..., None] if name == "fails" else upd, value, getattr(d, name)))
        better = upd & (p_case < d.p_case)
        better_eq = upd & (track.eq < d.p_equivalent)
        eq_low, eq_high = est.interval(design.nominal(look, design.alpha))
        d.eq_low, d.eq_high = np.where(better_eq, eq_low, d.eq_low), np.where(better_eq, eq_high, d.eq_high)
        for snap, mask in ((at_effect, better), (at_equiv, better_eq)):
            for name, value in now.items():
                snap[name] = np.where(mask[..., None] if name == "fails" else mask, value, snap[name])
        d.p_case = np.where(upd, np.minimum(d.p_case, p_case), d.p_case)
        d.p_equivalent = np.where(upd, track.eq, d.p_equivalent)
        side_at_min = np.where(better, side, side_at_min)
        fail_at_min = np.where(better, via_fail, fail_at_min)
        d.stopped = np.where(upd, look, d.stopped)
        d.seeds = np.where(upd, n, d.seeds)
        d.p_adjusted = adjust(d.p_case, design.error_control)
        effect = upd & (d.p_adjusted < design.alpha)
        eq = upd & ~effect & (d.p_equivalent < design.alpha)
        d.verdict = np.where(effect, np.where(side_at_min == worse, WORSENS, IMPROVES),
                             np.where(eq, NO_EFFECT, d.verdict)).astype(np.int8)
        d.by_failures = np.where(effect, fail_at_min, d.by_failures)
        d.open = d.open & ~(effect | eq)
        if design.futility and stop_at is None and look < len(design.looks) - 1:
            chance = futility.chances(design, look, est, counts, band, k)
            stop = upd & d.open & futility.hopeless(*chance)
            d.futile |= stop
            d.chance_effect = np.where(stop, chance[0], d.chance_effect)
            d.chance_no_effect = np.where(stop, chance[1], d.chance_no_effect)
            d.open &= ~stop
        d.reached = np.where(live, look + 1, d.reached)
    # A decided case shows the look that decided it: its interval is the one that lies beyond
    # (or inside) the band.
    for snap, verdicts in ((at_effect, (IMPROVES, WORSENS)), (at_equiv, (NO_EFFECT,))):
        mask = np.isin(d.verdict, verdicts)
        for name in SHOWN:
            setattr(d, name, np.where(mask[..., None] if name == "fails" else mask, snap[name], getattr(d, name)))
    d.level = np.where(d.look >= 0, design.claimed(), np.nan)
    d.open = d.open & (d.stopped < len(design.looks) - 1)  # undecided after the last look: no seeds left to give
    if stop_at is not None:
        d.open = d.open & (d.stopped < stop_at)
    return d


def _look(design: Design, look: int, est: Estimate, counts: np.ndarray, band: np.ndarray, worse: int,
          track: _Track, upd: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """One look's tests: update the cases' running p-values (where ``upd``) and return the
    look's own figures."""
    fc, nc, fb, nb = np.moveaxis(counts, -1, 0)
    pf = fisher_p(fc, nc, fb, nb)
    fail_side = (np.sign(fc / np.maximum(nc, 1) - fb / np.maximum(nb, 1)) * worse).astype(np.int8)
    up, down = p_effect(est, band)
    # The metric may not call a case better while it fails credibly more often than the
    # baseline, nor worse while it fails credibly less (this only removes rejections).
    credible = pf < design.alpha
    up = np.where(credible & (fail_side == -1), 1.0, up)
    down = np.where(credible & (fail_side == 1), 1.0, down)
    joins = upd & ~track.joined & ((fc + fb) > 0) & (fisher_floor(fc + fb, nc, nb) <= _fisher_gate(design, look, k))
    track.before = np.where(joins, track.metric(), track.before)
    track.spent_before = np.where(joins, design.spent_by[look - 1] if look else 0.0, track.spent_before)
    track.joined |= joins
    track.up = np.where(upd, np.minimum(track.up, design.sequential(look, up)), track.up)
    track.down = np.where(upd, np.minimum(track.down, design.sequential(look, down)), track.down)
    rest = np.maximum(1 - track.spent_before, 1e-12)
    fisher_now = np.where(track.joined & upd, pf / (float(design.share[look]) / rest), 1.0)
    track.fisher_side = np.where(fisher_now < track.fisher, fail_side, track.fisher_side)
    track.fisher = np.minimum(track.fisher, fisher_now)
    below, above = p_equivalent(est, band)
    eq_now = np.maximum(design.sequential(look, below), design.sequential(look, above))
    eq_now = np.where(fc / np.maximum(nc, 1) <= fb / np.maximum(nb, 1), eq_now, 1.0)  # fails no more often
    track.eq = np.where(upd, np.minimum(track.eq, eq_now), track.eq)
    low, high = est.interval(design.nominal(look, design.alpha / 2))
    return {"diff": est.diff, "low": low, "high": high, "level_look": np.broadcast_to(design.level(look), band.shape),
            "p_look": np.minimum(1.0, 2 * np.minimum(up, down)), "p_failures": pf, "fails": counts,
            "look": np.full(band.shape, look)}


def seeds_wanted(d: Decisions, design: Design) -> np.ndarray:
    """Seeds (per arm) each case should have before the next analysis: the next look for an
    open case (the first for one never analysed), what it stopped at otherwise."""
    looks = np.asarray(design.looks)
    nxt = looks[np.minimum(d.stopped + 1, len(looks) - 1)]
    return np.where(d.open | (d.stopped < 0), nxt, looks[np.maximum(d.stopped, 0)])
