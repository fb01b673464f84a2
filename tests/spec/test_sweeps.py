"""Sweeps: a key's values (or a grid of two keys) become full cases of the study, judged in
one Holm family with every other case, shown by ``plan`` and drawn as a dose-response."""

from __future__ import annotations

import json

import pytest
from conftest import write_tiny_study
from PIL import Image

from ganstudy.base.errors import ConfigError
from ganstudy.cli.main import main
from ganstudy.spec.study import load_study
from ganstudy.spec.sweeps import label


def _write(tmp_path, sweeps: str):
    """The tests' tiny study (a case lr-high, 2 seeds, 10 iterations) and ``sweeps``."""
    return write_tiny_study(tmp_path, name="swept", iterations=10, extra=sweeps, file="swept.toml")


def test_a_sweep_expands_to_cases_with_ids_titles_and_grids(tmp_path):
    study = load_study(_write(tmp_path, """
[[sweeps]]
id = "lr"
title = "Learning rate"
expect = "worsen"
values = { "optim.lr" = [1e-4, 0.0002, 2e-5] }

[[sweeps]]
id = "grid"
values = { "optim.lr" = [1e-3, 1e-4], "model.g_activation" = ["relu", "leaky_relu"] }
set = { "train.batch_size" = 8 }
"""))
    ids = [p.id for p in study.cases]
    assert ids == ["baseline", "lr-high", "lr-0.0001", "lr-0.0002", "lr-2e-05", "grid-0.001-relu",
                   "grid-0.001-leaky_relu", "grid-0.0001-relu", "grid-0.0001-leaky_relu"]
    lr = study.case("lr-2e-05")
    assert lr.title == "Learning rate: optim.lr = 2e-05" and lr.expect == "worsen"
    assert lr.config.optim.lr == 2e-5 and lr.point.sweep == "lr" and lr.point.values == (2e-5,)
    assert study.case("lr-0.0002").same_as == "baseline"  # the baseline's own value trains as the baseline
    g = study.case("grid-0.0001-leaky_relu")
    assert (g.config.optim.lr, g.config.model.g_activation, g.config.train.batch_size) == (1e-4, "leaky_relu", 8)
    assert g.point.keys == ("optim.lr", "model.g_activation")
    assert [label(v) for v in (True, 3, 0.5, "Leaky ReLU", [32, 64])] == ["true", "3", "0.5", "leaky-relu", "32_64"]


@pytest.mark.parametrize("sweep, message", [
    ('values = { "optim.lr" = [1e-4], "optim.beta1" = [0.5], "train.batch_size" = [8] }', "a grid of two keys (not 3)"),
    ('values = { "optim.lr" = [] }', "non-empty list"),
    ('values = { "optim.lr" = 0.001 }', "non-empty list"),
    ('values = { "optim.lr" = [1e-4, 1e-4] }', "appears twice"),
    ('values = { "optim.learning_rate" = [1e-4] }', "optim.learning_rate"),
    ('values = { "optim.lr" = [-1.0] }', "lr-1"),
    ('values = { "optim.lr" = [1e-4] }\nsteps = 3', "allowed here: id, title, expect, rationale, base, values, set"),
])
def test_a_bad_sweep_names_the_sweep_and_what_is_allowed(tmp_path, sweep, message):
    with pytest.raises(ConfigError) as err:
        load_study(_write(tmp_path, f'\n[[sweeps]]\nid = "lr"\n{sweep}\n'))
    assert message in str(err.value) and "swept.toml" in str(err.value)
    assert "lr" in str(err.value)


def test_a_sweep_whose_ids_collide_with_a_case_is_refused(tmp_path):
    path = _write(tmp_path, '\n[[cases]]\nid = "lr-0.001"\n\n[[sweeps]]\nid = "lr"\nvalues = { "optim.lr" = [1e-3] }\n')
    with pytest.raises(ConfigError, match="'lr-0.001' appears twice \\(a sweep makes it"):
        load_study(path)


def _holm(p: list[float]) -> list[float]:
    order = sorted(range(len(p)), key=p.__getitem__)
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def test_a_swept_study_runs_with_one_family_a_plan_and_a_dose_response(tmp_path, capsys):
    path = _write(tmp_path, """
[[sweeps]]
id = "lr"
values = { "optim.lr" = [2e-5, 2e-3, 2e-2] }
""")
    assert main(["plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sweep lr: optim.lr in [2e-05, 0.002, 0.02] -> 3 cases (lr-2e-05, lr-0.002, lr-0.02)" in out
    folder = tmp_path / "out"
    from ganstudy.execution.runner import run_study
    from ganstudy.report.live import LiveReport

    # a live report after every run: the figure is drawn before any point of the sweep has a score, too
    run_study(path, folder, workers=1, live=False, on_run_end=LiveReport(min_interval=0, share=1e9))
    rows = (folder / "report" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 5 * 2  # a header, then baseline and 4 cases x 2 seeds
    from ganstudy.report.collect import collect

    res = collect(folder, floor=False)
    primary = res.comparisons[res.primary]
    assert [c.case for c in primary] == ["lr-high", "lr-2e-05", "lr-0.002", "lr-0.02"]
    # one family: every p is Holm-adjusted over the sweep's cases and the hand-written case together
    assert [c.p_adjusted for c in primary] == pytest.approx(_holm([c.p_value for c in primary]))
    md = (folder / "report" / "report.md").read_text()
    assert "## Sweep lr: fid against the value" in md and "| 0.02 |" in md
    html = (folder / "report" / "report.html").read_text()
    assert "dose-response of sweep lr" in html
    import base64
    import io
    import re

    png = base64.b64decode(re.search(r'alt="dose-response of sweep lr" src="data:image/png;base64,([^"]+)"',
                                     html).group(1))
    meta = json.loads(Image.open(io.BytesIO(png)).info["ganstudy"])
    # every seed of every value (collapsed ones marked: 10 iterations learn little); an interval for each
    # point whose verdict has one
    shown = sum(1 for c in primary if c.case.startswith("lr-") and c.case != "lr-high" and c.ci_low is not None)
    assert meta["points"] == {"fid": 6, "intervals": shown}
    assert not meta["legend_overlaps_data"]


def test_the_dose_response_is_drawn_before_any_run_has_a_score(tmp_path):
    """A live report can come before any point of a sweep has a score (an empty log axis)."""
    from ganstudy.execution.runner import run_study
    from ganstudy.report import dose
    from ganstudy.report.collect import collect

    path = _write(tmp_path, '\n[[sweeps]]\nid = "lr"\nvalues = { "optim.lr" = [2e-5, 2e-3, 2e-2] }\n')
    folder = tmp_path / "out"
    run_study(path, folder, workers=1, live=False, seeds=1, overrides=["train.iterations=2"])
    for result in folder.glob("runs/*/*/result.json"):
        result.unlink()
    res = collect(folder, floor=False)
    meta = json.loads(Image.open(__import__("io").BytesIO(dose.figure(res, "lr"))).info["ganstudy"])
    assert meta["points"] == {"fid": 0, "intervals": 0}
