"""Tracking: train.loggers writes each run's losses, metrics and sample grids to TensorBoard
and MLflow (the real libraries, into temporary folders, read back), grouped by study, case
and seed; a missing library is named before anything trains; logging never changes a run."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import EXTRAS, tiny

from ganstudy.cli.main import main

TRAIN = textwrap.dedent("""
    [data]
    dataset = "mnist-mini"
    split = "test"
    limit = 256
    holdout = 200
    [model]
    g_widths = [32, 64]
    d_widths = [64, 32]
    latent_dim = 16
    [train]
    iterations = 12
    batch_size = 16
    log_every = 4
    sample_every = 6
    loggers = [{loggers}]
    [eval]
    samples = 200
    reference_samples = 200
    curve_points = 0
    """)


def _need(module: str, extra: str) -> None:
    pytest.importorskip(module, reason=EXTRAS[extra], exc_type=ImportError)


@pytest.mark.tracking
def test_tensorboard_gets_losses_metrics_and_samples_as_the_run_wrote_them(tmp_path, capsys):
    _need("tensorboard", "tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tmp_path / "run.toml"
    cfg.write_text(TRAIN.format(loggers='"tensorboard"'))
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--out", str(run), "--quiet"]) == 0, capsys.readouterr().err
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(e.step, e.value) for e in events.Scalars("g_loss")] == \
        [(row["iteration"] + 1, pytest.approx(row["g_loss"])) for row in logged]
    result = json.loads((run / "result.json").read_text())
    assert events.Scalars("final/fid")[0].value == pytest.approx(result["metrics"]["fid"])
    assert len(events.Images("samples")) == len(list((run / "samples").glob("*.png"))) == 3
    assert "config/text_summary" in events.Tags()["tensors"]


@pytest.mark.tracking
def test_mlflow_gets_a_run_per_case_and_seed_of_a_study_trained_by_two_workers(tmp_path, monkeypatch, capsys):
    _need("mlflow", "mlflow")
    _need("sqlalchemy", "mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from conftest import write_tiny_study

    study = write_tiny_study(tmp_path, name="tracked", iterations=10)
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--workers", "2", "--quiet",
                 "--set", 'train.loggers=["mlflow"]', "--set", "train.sample_every=5"]) == 0, capsys.readouterr().err
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{out / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tracked")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["baseline seed 0", "baseline seed 1", "lr-high seed 0",
                                                     "lr-high seed 1"]
    for r in runs:
        assert r.info.status == "FINISHED"
        folder = Path(r.data.tags["ganstudy.run_dir"])
        assert folder.parent.parent == (out / "runs").resolve()
        result = json.loads((folder / "result.json").read_text())
        assert r.data.tags["ganstudy.run_hash"] == result["run_hash"]
        assert r.data.metrics["final.fid"] == pytest.approx(result["metrics"]["fid"])
        assert r.data.params["optim.lr"] == ("0.001" if r.info.run_name.startswith("lr-high") else "0.0002")
        assert len(client.list_artifacts(r.info.run_id, "samples")) == len(list((folder / "samples").glob("*.png")))


def test_a_logger_whose_library_is_missing_is_named_before_anything_trains(tmp_path, capsys, monkeypatch):
    from conftest import write_tiny_study

    from ganstudy.tracking import registry as tracking

    spec = tracking.LOGGERS.get("tensorboard")
    monkeypatch.setitem(tracking.LOGGERS._items, "tensorboard",
                        tracking.LoggerSpec("tensorboard", spec.make, ("no_such_tensorboard",), spec.install))
    study = write_tiny_study(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--set", 'train.loggers=["tensorboard"]']) == 2
    err = capsys.readouterr().err
    assert "the tensorboard logger needs no_such_tensorboard" in err and 'pip install -e ".[tensorboard]"' in err
    assert not list(out.glob("runs/*/*/result.json"))
    assert main(["run", str(study), "--out", str(tmp_path / "o2"), "--set", 'train.loggers=["wandb2"]']) == 2
    assert "unknown logger 'wandb2'; allowed: " in capsys.readouterr().err


def test_logging_changes_no_run():
    assert tiny().run_hash() == tiny(**{"train.loggers": ["tensorboard", "mlflow"]}).run_hash()
