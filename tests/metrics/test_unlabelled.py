"""Metrics for any images: the label-free evaluator (fitted on a study's own reference images),
`ganstudy eval --images`, a study on an unlabelled image folder, and Inception features as an
optional extra (its wiring, through a stand-in for torch-fidelity)."""

import json
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from ganstudy.base.errors import GanstudyError
from ganstudy.cli.main import main
from ganstudy.data.registry import get
from ganstudy.metrics.reference import reference_stats
from ganstudy.metrics.registry import score_images
from ganstudy.metrics.unlabelled import fit


def blurred(images, radius=0.7):
    return np.stack([np.asarray(Image.fromarray(i.squeeze()).filter(ImageFilter.GaussianBlur(radius))).reshape(i.shape)
                     for i in images])


def noisy(images, sd=50.0):
    return np.clip(images + np.random.default_rng(0).normal(0, sd, images.shape), 0, 255).astype(np.uint8)


def shuffled(images):
    flat = images.reshape(len(images), -1, images.shape[-1]).copy()
    rng = np.random.default_rng(1)
    for pixels in flat:
        rng.shuffle(pixels)
    return flat.reshape(images.shape)


@pytest.fixture(scope="module")
def colour():
    return get("svhn-standin").load("test", None, None).images


def test_label_free_features_order_degradations_on_colour_data(colour):
    reference, other = colour[:1000], colour[1000:2000]
    evaluator = fit(reference, "svhn-standin test split, first 1000")
    ref = reference_stats(evaluator, reference, None, "r")
    fid = {name: score_images(evaluator, ref, images, ["fid", "kid", "classifier_score"])
           for name, images in (("real", other), ("blurred", blurred(other)), ("noisy", noisy(other, 30)),
                                ("shuffled", shuffled(other)))}  # (at sd 50 noise is as far as shuffled pixels)
    values = [fid[k]["metrics"]["fid"] for k in ("real", "blurred", "noisy", "shuffled")]
    assert values == sorted(values), values
    assert "classifier_score" not in fid["real"]["metrics"]  # no classes without labels
    assert fid["real"]["protocol"]["evaluator"].startswith("unlabelled-")
    again = fit(reference, "the same images")  # cached by the images' content
    assert again.id == evaluator.id and np.array_equal(again.whiten, evaluator.whiten)
    assert fit(other, "other images").id != evaluator.id


@pytest.mark.parametrize("dataset, reference", [("mnist", 5000), ("svhn-standin", 1000)])
def test_eval_images_orders_real_blurred_noisy(dataset, reference, tmp_path, shared_data, capsys):
    images = get(dataset).load("test", shared_data, None).images[reference : reference + 1000]
    found = {}
    for name, x in (("real", images), ("blurred", blurred(images)), ("noisy", noisy(images))):
        np.savez(tmp_path / f"{name}.npz", images=x)
        assert main(["eval", "--images", str(tmp_path / f"{name}.npz"), "--dataset", dataset, "--data-root",
                     str(shared_data), "--set", f"eval.reference_samples={reference}"]) == 0
        out = capsys.readouterr().out
        found[name] = float(next(line for line in out.splitlines() if line.strip().startswith("fid ")).split()[1])
    assert found["real"] < found["blurred"] < found["noisy"], found


def test_the_floor_comes_from_a_random_split(shared_data, capsys):
    assert main(["eval", "--real", "mnist", "--data-root", str(shared_data), "--set", "eval.metrics=[\"fid\"]"]) == 0
    out = capsys.readouterr().out
    assert "random split (seed 0)" in out
    assert float(next(line for line in out.splitlines() if "fid" in line and "protocol" not in line).split()[1]) < 5


def test_a_study_on_an_unlabelled_image_folder_runs_and_is_scored(colour, tmp_path):
    from ganstudy.execution.runner import run_study
    from ganstudy.report.write import write_report

    folder = tmp_path / "photos"
    folder.mkdir()
    for i, image in enumerate(colour[:500]):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    study = tmp_path / "s.toml"
    study.write_text(f"""
[study]
name = "my-photos"
seeds = 2
[baseline]
data.dataset = "folder"
data.path = "{folder}"
data.holdout = 200
model.g_widths = [32, 64]
model.d_widths = [64, 32]
model.latent_dim = 16
train.iterations = 20
train.batch_size = 16
train.checkpoint_every = 10
eval.samples = 200
eval.curve_points = 0
[[cases]]
id = "lr-high"
set = {{ "optim.lr" = 0.002 }}
""")
    summary = run_study(study, tmp_path / "out", live=False)
    assert summary.counts == {"complete": 4}
    result = json.loads(next((tmp_path / "out").glob("runs/baseline/0-*/result.json")).read_text())
    assert "fid" in result["metrics"] and "classifier_score" not in result["metrics"]
    assert result["protocol"]["evaluator"].startswith("unlabelled-")
    res, _ = write_report(tmp_path / "out")
    assert any("label-free evaluator" in w for w in res.warnings)
    verdict = res.verdict("lr-high")
    assert verdict.metric == "fid" and verdict.verdict in ("improves", "worsens", "no effect", "inconclusive")
    assert verdict.seeds == 2 and verdict.diff is not None  # tested: a difference of the label-free FIDs


class _StandInInception(torch.nn.Module):
    """What torch-fidelity's FeatureExtractorInceptionV3 returns, from a small random net."""

    def __init__(self, name, features_list):
        super().__init__()
        assert name == "inception-v3-compat" and features_list == ["2048", "logits_unbiased"]
        self.seen = []
        self.net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())
        self.features, self.logits = torch.nn.Linear(128, 2048), torch.nn.Linear(128, 1008)

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3  # uint8 NCHW in 0-255, three channels, as the real one takes
        self.seen.append(tuple(x.shape))
        h = self.net(x.float() / 255)
        return self.features(h), self.logits(h)


def test_inception_features_are_an_optional_extra(monkeypatch):
    from ganstudy.spec.layers import Layer, build_config
    from ganstudy.training.scoring import scoring_setup

    cfg = build_config([Layer("t", {"data.dataset": "mnist-mini", "data.split": "test", "data.holdout": 100,
                                    "eval.features": "inception", "eval.reference_samples": 100})])
    from ganstudy.data.prepare import load_training_data

    data = load_training_data(cfg.data)
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # not installed
    with pytest.raises(GanstudyError, match="needs torch-fidelity, an optional extra"):
        scoring_setup(cfg, data)
    fake = types.ModuleType("torch_fidelity")
    fake.FeatureExtractorInceptionV3 = _StandInInception
    monkeypatch.setitem(sys.modules, "torch_fidelity", fake)
    evaluator, reference = scoring_setup(cfg, data)
    assert evaluator.id == "inception-v3-compat" and reference.features.shape == (100, 2048)
    scored = score_images(evaluator, reference, data.train.images[:50], ["fid", "classifier_score"])
    assert scored["protocol"]["id"].startswith("inception-v3-compat/gen50/") and "classifier_score" in scored["metrics"]

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -2] Name or service not known>")

    fake.FeatureExtractorInceptionV3 = offline
    with pytest.raises(GanstudyError, match="its weights could not be loaded .* offline, copy them there first"):
        scoring_setup(cfg, data)
