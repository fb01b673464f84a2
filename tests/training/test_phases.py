"""Where a run's seconds go (phases.py), and the end of a run scored once for its curve and
its final score (evaluation.evaluate_with_curve), each exactly what its own evaluation gives."""

import json

import pytest
from conftest import tiny

from ganstudy.training.phases import PHASES, PhaseClock, overheads, seconds_text, study_cost, timed
from ganstudy.training.scoring import evaluate, evaluate_with_curve
from ganstudy.training.trainer import Trainer, train


def test_a_run_records_its_seconds_by_phase(tmp_path):
    result = train(tiny(**{"eval.curve_points": 2, "eval.curve_samples": 100}), tmp_path / "run")
    phases = json.loads((tmp_path / "run" / "result.json").read_text())["phases"]
    assert set(phases) == set(PHASES)  # every phase met
    assert all(v >= 0 for v in phases.values()) and phases["steps"] > 0
    assert result.phases == phases
    assert overheads(phases) == pytest.approx(sum(phases.values()) - phases["steps"])


def test_a_shared_block_counts_in_every_clock_and_names_are_checked():
    a, b = PhaseClock(), PhaseClock()
    with timed([a, b], "steps"):
        pass
    assert a.seconds["steps"] == b.seconds["steps"] > 0
    with pytest.raises(ValueError, match="unknown phase"), a("lunch"):
        pass


@pytest.mark.parametrize("features", ["auto", "unlabelled"])
def test_the_curves_last_point_from_the_final_images_is_its_own_evaluation(tmp_path, features):
    cfg = tiny(**{"eval.samples": 1500, "eval.features": features})
    run = Trainer(cfg, tmp_path)
    run._build()
    args = (run.state.g, cfg, run.evaluator, run.reference, 7, "cpu")
    point, final = evaluate_with_curve(*args, 1000)
    assert point == evaluate(*args, 1000)
    assert final == evaluate(*args)
    with pytest.raises(ValueError, match="multiple of 500"):
        evaluate_with_curve(*args, 700)


def test_a_studys_cost_counts_a_stacked_groups_steps_once():
    pair = frozenset({"a", "b"})
    runs = [(pair, {"steps": 10.0, "scoring": 2.0, "set-up": 1.0}), (pair, {"steps": 10.0, "scoring": 2.0, "set-up": 1.0}),
            (frozenset({"c"}), {"steps": 5.0, "curve": 0.5, "scoring": 0.5})]
    assert study_cost(runs) == ("22 s of process time: training steps 15 s, scoring 5 s (final scores and curve "
                                "points), the rest 2 s (set-up, logs, grids, checkpoints)")
    assert study_cost([]) == "-"
    assert seconds_text(59) == "59 s" and seconds_text(750) == "12.5 min" and seconds_text(26100) == "7.25 h"


def test_a_resumed_runs_phases_add_up_every_process(tmp_path):
    import torch

    from ganstudy.training.trainer import CHECKPOINT

    first = Trainer(tiny(), tmp_path)
    first.progress = lambda done, total, row: setattr(first, "stop_requested", done == 6 or first.stop_requested)
    assert first.run().status == "interrupted"
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert ckpt["phases"]["steps"] > 0 and ckpt["phases"]["set-up"] > 0
    ckpt["phases"] = {"steps": 1000.0, "set-up": 100.0}  # marks: what the earlier process spent
    torch.save(ckpt, tmp_path / CHECKPOINT)
    after = Trainer(tiny(), tmp_path).run(resume=True).phases
    assert 1000.0 < after["steps"] < 1100.0 and 100.0 < after["set-up"] < 200.0
