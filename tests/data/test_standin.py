"""The offline colour stand-in for SVHN: what it is made of, that it is the same every time,
its shipped evaluator, and the second write-up's study run end to end on it."""

import numpy as np
import pytest
from conftest import REPO

from ganstudy.cli.main import main
from ganstudy.data.prepare import load_training_data
from ganstudy.data.registry import get
from ganstudy.data.standin import SPLITS, _build
from ganstudy.metrics.evaluator import load


@pytest.fixture(scope="module")
def standin():
    return {split: get("svhn-standin").load(split, None, None) for split in ("train", "test")}


def test_it_has_svhns_shape_colour_and_labels(standin):
    train, test = standin["train"], standin["test"]
    assert train.images.shape == (12000, 32, 32, 3) and test.images.shape == (2000, 32, 32, 3)
    assert set(np.unique(train.labels)) == set(range(10)) and set(np.unique(test.labels)) == set(range(10))
    channels = train.images.reshape(-1, 3).astype(float)
    assert np.abs(channels[:, 0] - channels[:, 1]).mean() > 20  # colour, not grey in three channels
    assert train.images.std() > 40  # backgrounds and digits of every kind
    assert SPLITS["train"][0].stop <= SPLITS["test"][0].start  # no digit in both splits


def test_it_is_the_same_every_time(standin):
    images, labels = _build("test")  # made again from scratch, not read from the cache
    assert np.array_equal(images, standin["test"].images) and np.array_equal(labels, standin["test"].labels)


def test_its_evaluator_ships_and_reads_its_digits(standin):
    evaluator = load("svhn-standin")
    assert evaluator.card["held_out_accuracy"] >= 0.9 and evaluator.card["channels"] == 3
    _, probs = evaluator.embed(standin["test"].images[:500])
    assert (probs.argmax(1) == standin["test"].labels[:500]).mean() >= 0.88


def test_extra_mat_joins_it(shared_data):
    from ganstudy.spec.config import DataConfig

    data = load_training_data(DataConfig(dataset="svhn-standin", extra=["cits4404/extra.mat"]), shared_data)
    assert len(data.train) == 12050 and "plus 50 extra images from cits4404/extra.mat" in data.description


def test_the_second_write_up_runs_end_to_end_on_it(tmp_path, shared_data, capsys):
    """The shipped study file, the stand-in for SVHN, cut short (seeds, iterations) for the test."""
    cut = ["data.dataset=svhn-standin", "train.epochs=0", "train.iterations=30", "train.batch_size=32",
           "train.checkpoint_every=15", "train.sample_every=15", "eval.samples=300", "eval.reference_samples=500",
           "eval.curve_points=0"]
    args = ["run", str(REPO / "studies" / "cits4404-dcgan-svhn.toml"), "--out", str(tmp_path / "out"), "--seeds", "2",
            "--data-root", str(shared_data), "--quiet"]
    for item in cut:
        args += ["--set", item]
    assert main(args) == 0, capsys.readouterr().err
    report = (tmp_path / "out" / "report" / "report.md").read_text()
    for case in ("lr-steps", "d-input-batchnorm", "g-leaky-relu", "without-extra"):  # every change it made
        row = next(line for line in report.splitlines() if line.startswith(f"| {case}:"))
        assert any(v in row for v in ("improves", "worsens", "no effect", "inconclusive")), row
    assert "svhn-standin-" in report  # scored by the stand-in's own evaluator (provenance)
