"""Verdict logic on synthetic result tables with known answers."""

import numpy as np
import pytest

from ganstudy.analysis import (
    INCONCLUSIVE, IMPROVES, NO_EFFECT, SAME, WORSENS, RunRow, compare, expectation_held, holm, loss_moved,
    paired_permutation_p, seeds_to_settle, summary_sentence,
)


def table(cases: dict[str, list[float]], collapsed: dict[str, set[int]] | None = None,
          diverged: dict[str, set[int]] | None = None) -> list[RunRow]:
    rows = []
    for case, values in cases.items():
        for seed, value in enumerate(values):
            status = "diverged" if seed in (diverged or {}).get(case, set()) else "complete"
            covered = 2.0 if seed in (collapsed or {}).get(case, set()) else 10.0
            metrics = {} if status == "diverged" else {"fid": value, "classes_covered": covered}
            rows.append(RunRow(case, seed, status, metrics, {"d_loss": 0.7, "g_loss": 0.7}))
    return rows


rng = np.random.default_rng(0)
SEED_EFFECT = rng.normal(0, 5, 10)  # what a seed does to every case: pairing removes it
BASE = list(100 + SEED_EFFECT)


def verdicts(rows, **kw):
    return {c.case: c for c in compare(rows, "fid", True, **kw)}


def test_clear_improvement_and_clear_harm():
    rows = table({"baseline": BASE,
                  "better": [b - 30 + e for b, e in zip(BASE, rng.normal(0, 1, 10))],
                  "worse": [b + 25 + e for b, e in zip(BASE, rng.normal(0, 1, 10))]})
    v = verdicts(rows)
    assert v["better"].verdict == IMPROVES and v["worse"].verdict == WORSENS
    assert v["better"].diff_median == pytest.approx(-30, abs=1.5) and v["better"].ci_high < 0
    assert v["better"].p_value == pytest.approx(2 / 2**10)  # exact sign-flip test: all 10 pairs agree
    assert v["better"].p_holm == pytest.approx(2 * 2 / 2**10)  # Holm over the 2 tested cases
    assert v["better"].p_better == 1.0 and v["worse"].p_better == 0.0


def test_identical_is_no_effect():
    rows = table({"baseline": BASE, "same-ish": [b + e for b, e in zip(BASE, rng.normal(0, 0.3, 10))]})
    c = verdicts(rows)["same-ish"]
    assert c.verdict == NO_EFFECT and c.band == pytest.approx(0.05 * np.median(BASE))
    assert -c.band < c.ci_low < c.ci_high < c.band


def test_noisy_is_inconclusive_with_a_seed_estimate():
    base5 = BASE[:5]
    rows = table({"baseline": base5, "noisy": [b - 4 + e for b, e in zip(base5, rng.normal(0, 8, 5))]})
    c = verdicts(rows)["noisy"]
    assert c.verdict == INCONCLUSIVE and c.seeds_needed is not None and c.seeds_needed > 5
    assert "no paired test can go below p = 0.0625" in c.reason


def test_one_collapsed_seed_is_counted_and_does_not_dominate():
    base12 = list(100 + rng.normal(0, 5, 12))
    better = [b - 30 + e for b, e in zip(base12, rng.normal(0, 1, 12))]
    better[3] = 900.0  # that seed collapsed to two classes: a huge value, but one rank among twelve
    rows = table({"baseline": base12, "better": better}, collapsed={"better": {3}})
    c = verdicts(rows)["better"]
    assert c.failures["case_collapsed"] == 1 and c.failures["baseline_collapsed"] == 0 and c.fisher_p == 1.0
    assert c.diff_mean > 0  # the mean would call it worse...
    assert c.diff_median == pytest.approx(-30, abs=2) and c.ci_high < 0  # ...the median does not
    assert c.verdict == IMPROVES and c.p_value < 0.05  # 2 * P(W+ <= 12) for 12 pairs: 0.034


def test_many_collapses_or_divergences_worsen_by_fisher():
    rows = table({"baseline": BASE, "fragile": [b - 30 for b in BASE]},
                 collapsed={"fragile": {0, 1, 2, 3}}, diverged={"fragile": {4, 5, 6}})
    c = verdicts(rows)["fragile"]
    assert c.failures["case_diverged"] == 3 and c.failures["case_collapsed"] == 4
    assert c.verdict == WORSENS and c.fisher_p < 0.05 and "diverged or collapsed" in c.reason


def test_presentation_only_case():
    rows = table({"baseline": BASE, "log-less": BASE})
    c = verdicts(rows, same_as_baseline={"log-less"})["log-less"]
    assert c.verdict == SAME and expectation_held("no effect", c.verdict) == "yes"


def test_holm_known_values():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5] and holm([0.9, 0.9]) == [1.0, 1.0]


def test_paired_permutation_exact_values():
    assert paired_permutation_p(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(2 / 32)
    assert paired_permutation_p(np.array([1.0, -1.0])) == pytest.approx(1.0)
    assert paired_permutation_p(np.zeros(4)) == 1.0


def test_seed_estimate_grows_as_the_effect_shrinks():
    noisy = 3 * np.array([-3.0, 5.0, -8.0, 2.0, -6.0])
    noisy -= noisy.mean()  # mean 0, sd about 16
    big, small = seeds_to_settle(noisy - 12, band=5, alpha=0.05, cases=1), seeds_to_settle(noisy - 6, band=5, alpha=0.05, cases=1)
    assert 7 < big < small  # about (z_0.975 + z_0.8)^2 (sd / median)^2, robust sd from the MAD
    assert seeds_to_settle(noisy, band=5, alpha=0.05, cases=1) >= 6


def test_expectations_and_summary():
    assert expectation_held("improve", IMPROVES) == "yes"
    assert expectation_held("improve", WORSENS) == "no"
    assert expectation_held("worsen", INCONCLUSIVE) == "unknown"
    assert expectation_held("unsure", IMPROVES) == "-"
    rows = table({"baseline": BASE, "a": [b - 30 for b in BASE], "b": [b - 31 for b in BASE],
                  "c": [b + 30 for b in BASE], "d": list(BASE)})
    comps = compare(rows, "fid", True, same_as_baseline={"d"})
    assert summary_sentence(comps, "fid") == "2 changes improve fid, 1 worsens it and 1 does not change training."


def test_loss_moved():
    rows = table({"baseline": BASE, "x": BASE})
    assert not loss_moved(rows, "x")
    for r in rows:
        if r.case == "x":
            r.final["g_loss"] = 1.7
    assert loss_moved(rows, "x")
