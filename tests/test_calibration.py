"""The procedure's error rates and power, shown by simulation (the code that decides real
studies, run on thousands of synthetic ones). A rate passes when the simulation cannot
tell it from alpha or below: the lower end of its 95% Monte-Carlo interval is <= alpha."""

import re
from pathlib import Path

import numpy as np
import pytest

from ganstudy.stats import tables
from ganstudy.stats.procedure import IMPROVES, WORSENS, Design
from ganstudy.stats.simulate import SCENARIOS, Rate, false_effects, false_no_effect, power, simulate

ALPHA = 0.05
DESIGNS = {"3 seeds": Design.fixed(3), "6 seeds": Design.fixed(6), "12 seeds": Design.fixed(12),
           "adaptive 3-12": Design.adaptive(3, 12)}
DOC = Path(__file__).resolve().parents[1] / "docs" / "statistics.md"


@pytest.mark.parametrize("scenario", SCENARIOS.names())
@pytest.mark.parametrize("design", DESIGNS, ids=list(DESIGNS))
def test_no_false_verdicts_beyond_alpha(scenario, design):
    d = DESIGNS[design]
    per_case, per_study = false_effects(d, scenario, cases=12, band=0.0, studies=2000, seed=21)  # A/A
    assert per_case.ci[0] <= ALPHA and per_study.ci[0] <= ALPHA, (per_case, per_study)
    assert per_study.value <= ALPHA + 0.01
    edge, _ = false_effects(d, scenario, cases=12, band=1.0, at_edge=True, studies=1000, seed=22)
    assert edge.ci[0] <= ALPHA / 2  # 'worsens' for a case exactly at the band's edge: one side of alpha
    no_effect = false_no_effect(d, scenario, band=1.0, cases=12, studies=1000, seed=23)
    assert no_effect.ci[0] <= ALPHA, no_effect


@pytest.mark.parametrize("scenario", ["normal", "heavy tails", "skewed", "1 in 6 diverges"])
@pytest.mark.parametrize("design", DESIGNS, ids=list(DESIGNS))
def test_intervals_cover_what_they_claim(scenario, design):
    """The interval a report shows for every case covers the true difference at least 95% of
    the time, whatever its verdict and whatever the look an adaptive case stopped at."""
    effects = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])
    d = simulate(DESIGNS[design], effects, 1.0, scenario, studies=1500, seed=28)
    assert np.all(d.level == 0.95)
    for j, effect in enumerate(effects):
        covered = (d.low[:, j] <= effect) & (effect <= d.high[:, j])
        assert Rate(int(covered.sum()), covered.size).ci[1] >= 0.95, (effect, covered.mean())


def test_the_check_has_teeth():
    """Deciding each of 12 cases at alpha with no adjustment across them breaks the
    study-wide rate: the test above would catch it."""
    loose = Design.fixed(6, alpha=ALPHA * 12)  # Holm at 12 alpha: its first step is alpha per case
    _, per_study = false_effects(loose, "normal", cases=12, band=0.0, studies=2000, seed=24)
    assert per_study.ci[0] > ALPHA


def test_false_discovery_rate_with_fdr_control():
    d = Design.fixed(6, error_control="fdr")
    effects = np.array([0.0] * 6 + [3.0] * 6)
    r = simulate(d, effects, 1.0, studies=2000, seed=25)
    claims = np.isin(r.verdict, (IMPROVES, WORSENS))
    fdp = np.where(claims.sum(-1) > 0, claims[:, :6].sum(-1) / np.maximum(claims.sum(-1), 1), 0.0)
    assert fdp.mean() <= ALPHA


def test_power_grows_with_seeds_and_effect():
    found = {(n, e): power(Design.fixed(n), e, cases=12, studies=1000, seed=26)[0].value for n in (4, 8, 12)
             for e in (1.0, 2.0)}
    assert found[(4, 2.0)] < found[(8, 2.0)] < found[(12, 2.0)] and found[(12, 1.0)] < found[(12, 2.0)]
    rate, seeds = power(Design.adaptive(3, 12), 4.0, cases=12, studies=1000, seed=27)
    assert rate.value > 0.95 and seeds < 8  # a large effect stops early


def test_the_published_power_table_is_generated():
    """docs/statistics.md's power table is what the simulation gives (not typed)."""
    text = DOC.read_text()
    start = text.index("### Power")
    published = [line for line in text[start:].splitlines() if line.startswith("|")]
    generated = tables.power_table(tables.STUDIES)
    assert published[: len(generated)] == generated
    assert re.search(r"python -m ganstudy\.stats\.tables --write", text)
