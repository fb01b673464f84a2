"""A real tiny study in the regime GAN studies live in: its baseline collapses on every seed
(a learning rate of 1e-7 learns nothing: its samples are noise, scored as one class), its
case on none. The collapse is counted once, by the failure test, which cannot speak at 3
seeds against 3 (Fisher p = 0.1): the case is not called better, and the report's first
sentence says that most runs failed. A case that does not change training shows no test."""

import math

import pytest

import ganstudy
from ganstudy.execution.runner import run_study

STUDY = """
[study]
name = "collapsing-baseline"
seeds = 3

[baseline]
data.dataset = "mnist-mini"
data.split = "test"
data.limit = 1024
data.holdout = 300
data.scale = "minus_one_one"
eval.samples = 300
model.g_widths = [64, 128]
model.d_widths = [128, 64]
model.latent_dim = 32
optim.lr = 1e-7
train.iterations = 800
train.log_every = 100
train.sample_every = 400
train.checkpoint_every = 400

[[cases]]
id = "lr-1e-3"
title = "A learning rate that learns"
expect = "improve"
set = { "optim.lr" = 0.001 }

[[cases]]
id = "log-less"
title = "Log less often"
expect = "no effect"
set = { "train.log_every" = 200 }
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("failed-study")
    (root / "study.toml").write_text(STUDY)
    out = root / "out"
    run_study(root / "study.toml", out, live=False)
    return ganstudy.open(out)


def test_the_baseline_collapsed_and_the_case_did_not(folder):
    runs = {(r["case"], r["seed"]): r for r in folder.runs()}
    assert all(runs[("baseline", s)]["collapsed"] for s in range(3))
    assert not any(runs[("lr-1e-3", s)]["collapsed"] for s in range(3))


def test_a_collapsed_baseline_does_not_make_the_case_better(folder):
    """Welch on the collapsed runs' clustered FID would say p ~ 1e-6; the failure test says
    p = 0.1 at 3 against 3, which no analysis of 2 cases can call credible."""
    row = next(r for r in folder.verdicts() if r["case"] == "lr-1e-3")
    assert row["verdict"] == "inconclusive"
    assert "too few runs with a metric" in row["reason"] and "Fisher exact p = 0.1" in row["reason"]
    assert row["baseline_median"] is None  # no baseline run trained: no median to show


def test_the_headline_warns_that_most_runs_failed(folder):
    report = folder.report(rewrite=True)
    first = report.summary
    assert first.startswith("Warning: 3 of 6 runs collapsed or diverged (most runs of baseline 3 of 3)")
    assert "compare only the runs that trained" in first
    assert report.markdown.split("## What this study says", 1)[1].strip().startswith("Warning: 3 of 6 runs")
    assert "Warning: 3 of 6 runs collapsed or diverged" in report.html


def test_a_case_that_does_not_change_training_shows_no_test(folder):
    row = next(r for r in folder.verdicts() if r["case"] == "log-less")
    assert row["verdict"] == "does not change training"
    assert all(row[k] is None for k in ("p_value", "p_adjusted", "difference", "ci_low", "ci_high", "ci_level"))
    assert row["seeds"] == 0 and "no test was run" in row["reason"]
    md = folder.report().markdown
    table = md.split("### fid", 1)[1].split("###", 1)[0]
    line = next(x for x in table.splitlines() if x.startswith("| log-less"))
    assert "1.000" not in line and line.count("| - ") >= 3


def test_verdict_rows_are_values(folder):
    for row in folder.verdicts():
        for key in ("p_value", "p_adjusted", "difference", "ci_level"):
            assert row[key] is None or (isinstance(row[key], float) and math.isfinite(row[key]))
