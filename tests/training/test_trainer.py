import json

import numpy as np
import pytest
import torch
from conftest import run_weights, same_weights, tiny

from ganstudy.base.atomic import read_jsonl
from ganstudy.base.errors import GanstudyError
from ganstudy.training import steps as steps_module
from ganstudy.training.trainer import CHECKPOINT, Trainer, summary_line, train


def _losses(run_dir):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in read_jsonl(run_dir / "metrics.jsonl")]


def test_a_run_writes_its_outputs(tmp_path):
    result = train(tiny(), tmp_path / "r")
    run = tmp_path / "r"
    assert result.status == "complete" and result.iterations == 12
    for name in ("config.json", "status.json", "metrics.jsonl", "result.json", CHECKPOINT):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "iter_000000.png", "iter_000005.png", "iter_000010.png", "iter_000011.png"]
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["iteration"] for r in rows] == list(range(12))
    assert set(rows[0]) >= {"iteration", "d_loss", "d_acc", "d_acc_real", "d_acc_fake", "g_loss", "lr_g", "lr_d", "seconds"}
    described = json.loads((run / "config.json").read_text())
    assert described["run_hash"] == tiny().run_hash() and described["config"]["train"]["iterations"] == 12
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert result.summary == summary_line(11, rows[-1])


def test_summary_line_format_matches_keras_gan():
    row = {"d_loss": 0.742246, "d_acc": 0.09375, "g_loss": 0.709937}
    assert summary_line(29999, row) == "29999 [D loss: 0.742246, acc.: 9.38%] [G loss: 0.709937]"


def test_logged_d_loss_is_half_the_sum_and_acc_the_mean(tmp_path):
    train(tiny(), tmp_path / "a")
    for row in read_jsonl(tmp_path / "a" / "metrics.jsonl"):
        assert row["d_loss"] == pytest.approx(0.5 * (row["d_loss_real"] + row["d_loss_fake"]))
        assert row["d_acc"] == pytest.approx(0.5 * (row["d_acc_real"] + row["d_acc_fake"]))


def test_same_seed_same_run_other_seed_differs(tmp_path):
    train(tiny(), tmp_path / "a")
    train(tiny(), tmp_path / "b")
    train(tiny(**{"train.seed": 1}), tmp_path / "c")
    assert same_weights(run_weights(tmp_path / "a"), run_weights(tmp_path / "b"))
    assert not same_weights(run_weights(tmp_path / "a"), run_weights(tmp_path / "c"))


def test_logging_and_sampling_never_change_training(tmp_path):
    train(tiny(), tmp_path / "a")
    train(tiny(**{"train.log_every": 5, "train.sample_every": 1, "train.checkpoint_every": 4,
                  "train.d_loss_log_scale": 1.0, "eval.grid_seed": 9, "eval.every": 3, "eval.samples": 50}),
          tmp_path / "b")
    assert same_weights(run_weights(tmp_path / "a"), run_weights(tmp_path / "b"))


@pytest.mark.parametrize("keys", [
    {},
    {"train.step_style": "pytorch"},
    {"model.d_dropout": 0.3, "model.d_batchnorm": True, "train.d_learns_in_g_step": True},
    {"train.epochs": 2, "train.iterations": None, "data.limit": 80, "optim.schedule": "cosine", "eval.every": 3},
    {"model.arch": "keras-dcgan", "model.g_channels": [8, 8, 4], "model.d_channels": [4, 8, 8, 8]},  # channels-last
    {"train.precision": "bf16"},
    {"model.arch": "keras-dcgan", "model.g_channels": [8, 8, 4], "model.d_channels": [4, 8, 8, 8],
     "train.precision": "bf16", "train.step_style": "pytorch"},
])
def test_interrupted_and_resumed_run_is_bitwise_identical(tmp_path, keys):
    keys = {k: v for k, v in keys.items() if v is not None}
    cfg = tiny(**keys)
    train(cfg, tmp_path / "straight")

    trainer = Trainer(cfg, tmp_path / "resumed")

    def stop_at_7(done, total, row):
        if done == 7:
            trainer.stop_requested = True  # what Ctrl-C does

    trainer.progress = stop_at_7
    first = trainer.run()
    assert first.status == "interrupted" and first.iterations == 7
    assert not (tmp_path / "resumed" / "result.json").exists()
    with pytest.raises(GanstudyError, match="--resume"):
        train(cfg, tmp_path / "resumed")
    second = train(cfg, tmp_path / "resumed", resume=True)
    assert second.status == "complete"
    assert same_weights(run_weights(tmp_path / "straight"), run_weights(tmp_path / "resumed"))
    assert _losses(tmp_path / "straight") == _losses(tmp_path / "resumed")
    evals = lambda d: [{k: v for k, v in r.items()} for r in read_jsonl(d / "eval.jsonl")]  # noqa: E731
    assert evals(tmp_path / "straight") == evals(tmp_path / "resumed")


def test_evaluation_during_and_after_training(tmp_path):
    result = train(tiny(**{"eval.every": 5, "eval.curve_points": 3, "eval.curve_samples": 50}), tmp_path / "r")
    every = read_jsonl(tmp_path / "r" / "eval.jsonl")
    curve = [r for r in every if r.get("curve")]
    rows = [r for r in every if not r.get("curve")]
    assert [(r["iteration"], r["final"]) for r in rows] == [(5, False), (10, False), (12, True)]
    # The curve: 3 cheap points through training (12 x 1/3, 12 x 2/3, the end), one protocol of their own.
    assert [r["iteration"] for r in curve] == [4, 8, 12] and len({r["protocol"] for r in curve}) == 1
    assert "/gen50/" in curve[-1]["protocol"] and "/gen200/" in rows[-1]["protocol"]
    assert set(result.metrics) >= {"fid", "kid", "kid_se", "precision", "recall", "density", "coverage",
                                   "classifier_score", "mode_kl", "classes_covered"}
    assert result.metrics["fid"] == rows[-1]["fid"] > 0
    protocol = result.protocol
    assert protocol["generated"] == 200 and protocol["reference_images"] == 200
    assert "held-out" in protocol["reference"] and protocol["evaluator"].startswith("mnist-")
    assert protocol["id"] == rows[-1]["protocol"]
    saved = json.loads((tmp_path / "r" / "result.json").read_text())
    assert saved["metrics"] == result.metrics


def test_generated_images_are_quantised_to_8_bit(tmp_path):
    from ganstudy.training.runfolder import load_generator
    from ganstudy.training.scoring import generate

    train(tiny(**{"eval.metrics": []}), tmp_path / "r")
    g, cfg = load_generator(tmp_path / "r")
    images = generate(g, cfg, 30, seed=3)
    assert images.dtype == np.uint8 and images.shape == (30, 28, 28, 1)
    assert np.array_equal(images, generate(g, cfg, 30, seed=3))  # its own stream: reproducible
    assert not (tmp_path / "r" / "eval.jsonl").exists() or not read_jsonl(tmp_path / "r" / "eval.jsonl")


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    train(tiny(), tmp_path / "r")
    with pytest.raises(GanstudyError, match="different config"):
        train(tiny(**{"optim.lr": 0.01}), tmp_path / "r", resume=True)


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    first = train(tiny(), tmp_path / "r")
    again = train(tiny(), tmp_path / "r", resume=True)
    assert again == first


def test_nan_loss_is_a_diverged_outcome_that_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    real_step = steps_module.STEP_STYLES["keras"]
    calls = {"n": 0}

    def failing_step(state, batch):
        calls["n"] += 1
        stats = real_step(state, batch)
        return stats * float("nan") if calls["n"] == 9 else stats

    monkeypatch.setitem(steps_module.STEP_STYLES, "keras", failing_step)
    result = train(tiny(), tmp_path / "r")
    assert result.status == "diverged" and result.iterations == 8 and "iteration 8" in result.reason
    assert torch.load(tmp_path / "r" / CHECKPOINT, weights_only=True)["iteration"] == 5
    assert json.loads((tmp_path / "r" / "status.json").read_text())["state"] == "diverged"
    assert json.loads((tmp_path / "r" / "result.json").read_text())["status"] == "diverged"


def test_learning_rate_schedule_reaches_the_optimizer(tmp_path):
    cfg = tiny(**{"optim.schedule": "step", "optim.milestones": [4, 8], "optim.values": [1e-4, 5e-5],
                  "optim.lr_d": 4e-4})
    train(cfg, tmp_path / "r")
    rows = read_jsonl(tmp_path / "r" / "metrics.jsonl")
    assert [r["lr_g"] for r in rows[3:5]] == pytest.approx([2e-4, 1e-4])
    assert rows[9]["lr_g"] == pytest.approx(5e-5) and rows[9]["lr_d"] == pytest.approx(1e-4)


@pytest.mark.parametrize("kind", ["bce", "mse", "hinge", "wasserstein"])
@pytest.mark.parametrize("style", ["keras", "pytorch"])
def test_every_loss_trains_in_both_styles(tmp_path, kind, style):
    result = train(tiny(**{"loss.kind": kind, "train.step_style": style, "train.iterations": 4,
                           "loss.label_smoothing": 0.1}), tmp_path / "r")
    assert result.status == "complete"


def test_changed_scoring_settings_rescore_an_ended_run_without_training(tmp_path):
    first = train(tiny(), tmp_path / "r")
    weights = run_weights(tmp_path / "r")
    again = train(tiny(**{"eval.samples": 120, "eval.metrics": ["fid", "precision", "recall"]}), tmp_path / "r",
                  resume=True)
    assert same_weights(weights, run_weights(tmp_path / "r"))  # nothing trained
    assert again.protocol["generated"] == 120 and set(again.metrics) == {"fid", "precision", "recall"}
    assert again.metrics["fid"] != first.metrics["fid"]
    saved = json.loads((tmp_path / "r" / "result.json").read_text())
    assert saved["protocol"]["generated"] == 120
    assert train(tiny(**{"eval.grid_seed": 5}), tmp_path / "r", resume=True).protocol["generated"] == 200


def test_the_logged_d_loss_scale_is_keras_average_of_loss_and_accuracy(tmp_path):
    """Keras-GAN printed 0.5 * np.add(d_loss_real, d_loss_fake) of [loss, acc] pairs: removing
    the 0.5 (the first write-up's case 6) doubled the printed accuracy too. Training is the same."""
    half, whole = train(tiny(), tmp_path / "half"), train(tiny(**{"train.d_loss_log_scale": 1.0}), tmp_path / "whole")
    assert half.final["d_acc"] * 2 == pytest.approx(whole.final["d_acc"])
    assert half.final["d_loss"] * 2 == pytest.approx(whole.final["d_loss"])
    assert same_weights(run_weights(tmp_path / "half"), run_weights(tmp_path / "whole"))
