"""ganstudy plan's time estimate: runs summed at their architecture's measured speed, shared
between the workers; an adaptive study gets a range; architectures timed once each."""

from __future__ import annotations

import pytest
from conftest import tiny, write_tiny_study

from ganstudy.cli.main import main
from ganstudy.execution import estimate as est
from ganstudy.spec.study import load_study


def test_runs_of_one_architecture_are_timed_once():
    assert est.speed_key(tiny()) == est.speed_key(tiny(**{"optim.lr": 0.01, "data.scale": "zero_one",
                                                          "train.seed": 3}))
    assert est.speed_key(tiny()) != est.speed_key(tiny(**{"train.batch_size": 64}))
    assert est.speed_key(tiny()) != est.speed_key(tiny(**{"train.precision": "bf16"}))
    assert est.speed_key(tiny()) != est.speed_key(tiny(**{"model.g_widths": [64, 64]}))


def test_the_estimate_is_the_runs_arithmetic(tmp_path, monkeypatch):
    calls = []

    def fake(cfg, data_root, workers=1, steps=8):
        calls.append(cfg.model.arch)
        return est.Calibration(cfg.model.arch, 0.01, 1.0)  # 10 ms an iteration, 1 s a run besides

    monkeypatch.setattr(est, "calibrate", fake)
    study = load_study(write_tiny_study(tmp_path, iterations=100))  # baseline + lr-high, 2 seeds: 4 runs
    e = est.estimate(study, workers=2)
    assert calls == ["mlp"]  # lr-high trains at the baseline's speed: timed once
    assert e.low == e.high == pytest.approx(4 * (100 * 0.01 + 1.0) / 2 + est.STARTUP)
    study.meta.seeds = type(study.meta).model_fields["seeds"].default_factory()  # adaptive 3 to 10
    e = est.estimate(study, workers=2)
    # one case: it and the baseline 3 to 10 seeds (the baseline's 1.5x is for two cases or more), 2 s a run, 2 workers
    assert e.low == pytest.approx((3 + 3) * 2.0 / 2 + est.STARTUP) and e.high == pytest.approx((10 + 10) * 2.0 / 2 + est.STARTUP)
    assert "(every case at its first seeds) to" in e.lines()[0]


def test_plan_times_this_machine_and_can_skip_it(tmp_path, capsys):
    study = write_tiny_study(tmp_path, iterations=200)
    assert main(["plan", str(study)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("estimated time on this machine: ~") and "mlp " in line and "ms/iteration" in line
    assert main(["plan", str(study), "--no-estimate"]) == 0
    assert "estimated time" not in capsys.readouterr().out
