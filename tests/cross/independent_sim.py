"""A second simulation of ganstudy's verdicts, written apart from ``ganstudy.stats.simulate``
to check it: its own generators (scipy's distributions, in a metric's own units: an FID near
300 whose seeds spread by 15, collapses flagged as a real study flags them, by the classes a
run covers) and its own driver of the rounds ``ganstudy run`` takes (a run exists only once a
round asked for it; the band is the study's: 5% of the median of the baseline's first runs
that did not collapse). Only ``procedure.decide`` is shared: it is what is being checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ganstudy.stats.design import IMPROVES, WORSENS, Design
from ganstudy.stats.procedure import decide

CLASSES = 10
LOCATION, SPREAD, RELATIVE = 300.0, 15.0, 0.05


@dataclass
class Outcomes:
    """Every run a study could train, drawn up front: (studies, arms, seeds)."""

    metric: np.ndarray  # NaN where the run diverged
    covered: np.ndarray  # classes its samples cover
    diverged: np.ndarray


def draw(family: str, studies: int, arms: int, seeds: int, seed: int, shift: float = 0.0) -> Outcomes:
    """A/A outcomes (every arm alike; ``shift`` moves the cases' metric) of one family."""
    rs = np.random.RandomState(seed)
    shape = (studies, arms, seeds)
    case = np.arange(arms)[None, :, None] > 0
    metric = stats.norm.rvs(LOCATION, SPREAD, size=shape, random_state=rs) + np.where(case, shift, 0.0)
    covered = np.full(shape, 10.0)
    diverged = np.zeros(shape, bool)
    if family == "30% collapse":
        collapsed = stats.bernoulli.rvs(0.3, size=shape, random_state=rs).astype(bool)
        metric = np.where(collapsed, 1100 + stats.norm.rvs(0, 0.1, size=shape, random_state=rs), metric)
        covered = np.where(collapsed, 1.0, covered)
    elif family == "50% diverge":
        diverged = stats.bernoulli.rvs(0.5, size=shape, random_state=rs).astype(bool)
        metric = np.where(diverged, np.nan, metric)
    elif family == "cases spread 3x":
        metric = np.where(case, LOCATION + 3 * (metric - LOCATION - shift) + shift, metric)
    elif family == "two values":  # the metric is classes covered itself, 9 or 10 at even odds
        metric = 9.0 + stats.bernoulli.rvs(0.5, size=shape, random_state=rs)
        covered = metric
    elif family != "normal":
        raise ValueError(family)
    return Outcomes(metric, covered, diverged)


def study_band(o: Outcomes, trained: np.ndarray, first: int) -> np.ndarray:
    """5% of the median of the baseline's first runs that trained and did not collapse."""
    out = np.full(o.metric.shape[0], np.nan)
    for s in range(len(out)):
        keep = [o.metric[s, 0, j] for j in range(first)
                if trained[s, 0, j] and not o.diverged[s, 0, j] and o.covered[s, 0, j] >= CLASSES / 2]
        if keep:
            out[s] = RELATIVE * abs(float(np.median(keep)))
    return out


def run_rounds(o: Outcomes, design: Design, band: float | None, lower_is_better: bool = True):
    """Train round after round what the study asks for, as ``ganstudy run`` does: every case
    its first look, the baseline its share; then the next look for the cases still open and
    the baseline's share of the longest, until none is open. Returns the last decisions and
    the runs trained per study."""
    studies, arms, width = o.metric.shape
    need = np.zeros((studies, arms), int)
    need[:, 1:], need[:, 0] = design.looks[0], design.baseline_looks[0]
    while True:
        trained = np.arange(width)[None, None, :] < need[:, :, None]
        failed = trained & (o.diverged | (o.covered < CLASSES / 2))
        values = np.where(trained & ~o.diverged, o.metric, np.nan)
        b = study_band(o, trained, design.baseline_looks[0]) if band is None else np.full(studies, band)
        d = decide(values, failed, trained, trained, np.nan_to_num(b), design,
                   lower_is_better)
        nxt = need.copy()
        for s in range(studies):
            for k in range(arms - 1):
                if d.open[s, k]:
                    nxt[s, k + 1] = design.looks[d.stopped[s, k] + 1]
            nxt[s, 0] = max(nxt[s, 0], design.baseline_seeds(nxt[s, 1:].max()))
        if (nxt == need).all():
            return d, need.sum(-1)
        need = nxt


def false_claims(family: str, design: Design, band: float | None, studies: int = 600, cases: int = 12,
                 seed: int = 0) -> tuple[int, int]:
    """(studies with a false improves/worsens, studies) in an A/A study of ``family``."""
    o = draw(family, studies, cases + 1, design.baseline_looks[-1], seed)
    d, _ = run_rounds(o, design, band, lower_is_better=family != "two values")
    return int(np.isin(d.verdict, (IMPROVES, WORSENS)).any(-1).sum()), studies
