"""Metrics: hand-computed values on tiny inputs, an independent FID, the evaluator, the
real-vs-real floor and the order of degraded images."""

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ganstudy.metrics import formulas as m
from ganstudy.metrics import registry as metrics
from ganstudy.metrics.evaluator import SHIPPED, load
from ganstudy.metrics.reference import reference_stats
from ganstudy.metrics.registry import Features

# ------------------------------------------------------------------ pure maths, known values


def test_frechet_distance_known_values():
    assert m.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2)) == pytest.approx(0, abs=1e-12)
    # 1-D: (0-1)^2 + 1 + 4 - 2*sqrt(1*4) = 1 + 1
    assert m.frechet_distance(np.zeros(1), np.eye(1), np.ones(1), 4 * np.eye(1)) == pytest.approx(2.0)
    # diagonal: tr = (1 + 4 + 4 + 9) - 2 * (2 + 6) = 2
    assert m.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.zeros(2), np.diag([4.0, 9.0])) == pytest.approx(2.0)


def _frechet_oracles():
    """Two independent ways to the Fréchet distance, written here from its definition
    ||mu1 - mu2||^2 + tr(s1 + s2 - 2 (s1 s2)^(1/2)): the trace of the matrix square root as the
    sum of the square roots of the eigenvalues of s1 s2 (real and non-negative for two
    covariance matrices), and as scipy's sqrtm of s1 s2, as pytorch-fid computes it."""
    import scipy.linalg

    def by_eigenvalues(mu1, s1, mu2, s2):
        roots = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
        return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * roots)

    def by_sqrtm(mu1, s1, mu2, s2):
        root = scipy.linalg.sqrtm(s1 @ s2)
        return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)

    return by_eigenvalues, by_sqrtm


def test_frechet_distance_matches_independent_computations():
    rng = np.random.default_rng(0)
    for dim, n in ((8, 50), (64, 200), (128, 100)):  # the last: rank-deficient covariances
        a = rng.normal(size=(n, dim))
        b = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim)) * 0.3 + 0.5
        mu1, s1 = m.mean_cov(a)
        mu2, s2 = m.mean_cov(b)
        for oracle in _frechet_oracles():
            assert m.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(oracle(mu1, s1, mu2, s2), rel=1e-5, abs=1e-6)


def test_mmd2_unbiased_by_hand():
    x, y = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    # k(a, b) = (ab + 1)^3: xx off-diagonal mean 1, yy 343, xy mean (1 + 1 + 27 + 64) / 4
    assert m.mmd2_unbiased(x, y) == pytest.approx(1 + 343 - 2 * 23.25)


def test_kid_of_identical_distributions_is_near_zero_with_its_error():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    value, se = m.kid(a, b, subsets=20, subset_size=200)
    assert abs(value) < 4 * se + 1e-3 and se > 0
    far, _ = m.kid(a, b + 1.0, subsets=20, subset_size=200)
    assert far > 20 * se


def _line(*xs):
    return np.array([[x, 0.0] for x in xs])


def test_precision_recall_by_hand():
    real, fake = _line(0, 1, 2), _line(0.5, 10)
    # k=1 radii: real 1, 1, 1; fake 9.5, 9.5. Fake 0.5 is inside real 0's ball, 10 is not.
    assert m.precision_recall(real, fake, k=1) == pytest.approx((0.5, 1.0))


def test_density_coverage_by_hand():
    real, fake = _line(0, 1, 2), _line(0.5, 10)
    # fake 0.5 lies in the balls of real 0 and real 1 (radius 1), not real 2; fake 10 in none.
    density, coverage = m.density_coverage(real, fake, k=1)
    assert density == pytest.approx(2 / 2) and coverage == pytest.approx(2 / 3)


def test_pairwise_distances_in_chunks():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    assert np.allclose(m.pairwise_distances(a, b, chunk=3), expected, atol=1e-5)


def test_classifier_score_by_hand():
    assert m.classifier_score(np.full((100, 10), 0.1), splits=2)[0] == pytest.approx(1.0)
    assert m.classifier_score(np.eye(10)[np.arange(100) % 10], splits=2)[0] == pytest.approx(10.0, rel=1e-6)


def test_mode_stats_by_hand():
    real = np.repeat(np.arange(4), 25)
    assert m.mode_stats(real, real, 4) == (4, pytest.approx(0.0, abs=1e-5))
    covered, kl = m.mode_stats(np.zeros(100, int), real, 4)
    assert covered == 1
    q_hit, q_miss = (1 + 1e-6) / (1 + 4e-6), 1e-6 / (1 + 4e-6)
    assert kl == pytest.approx(0.25 * np.log(0.25 / q_hit) + 0.75 * np.log(0.25 / q_miss))


# ------------------------------------------------------------------ the evaluator


@pytest.mark.parametrize("name, floor", [("mnist", 0.985), ("fashion-mnist", 0.90)])
def test_shipped_evaluators_have_a_card_and_reach_their_accuracy(name, floor, shared_data):
    from ganstudy.data.registry import get as get_dataset
    from ganstudy.metrics.evaluator import PROTOCOLS

    card = json.loads((SHIPPED / f"{name}.json").read_text())
    assert card["held_out_accuracy"] >= floor and card["feature_size"] == 128
    assert card["command"].startswith(f"ganstudy evaluator train --dataset {name}")
    evaluator = load(name)  # verifies the checksum
    split, part = PROTOCOLS[name].held_out
    held = get_dataset(name).load(split, shared_data, None).take(part)
    _, probs = evaluator.embed(held.images)
    assert (probs.argmax(1) == held.labels).mean() == pytest.approx(card["held_out_accuracy"], abs=1e-4)


def test_features_do_not_depend_on_batch_size(shared_data):
    from ganstudy.data.registry import get as get_dataset

    images = get_dataset("mnist").load("test", shared_data, None).images[:1200]
    evaluator = load("mnist")
    few, few_p = evaluator.embed(images[:7])
    many, many_p = evaluator.embed(images)
    assert np.allclose(few, many[:7], rtol=1e-5, atol=1e-5) and np.allclose(few_p, many_p[:7], atol=1e-6)
    # And so the metrics: the same images scored whole or in two calls give the same FID.
    parts = np.concatenate([evaluator.embed(images[:600])[0], evaluator.embed(images[600:])[0]])
    ref = m.mean_cov(many[:600])
    assert m.frechet_distance(*ref, *m.mean_cov(parts)) == pytest.approx(m.frechet_distance(*ref, *m.mean_cov(many)),
                                                                           rel=1e-5)


def test_damaged_evaluator_weights_are_refused(tmp_path, monkeypatch):
    from ganstudy.base.errors import GanstudyError
    from ganstudy.metrics import evaluator as ev

    (tmp_path / "mnist.pt").write_bytes((SHIPPED / "mnist.pt").read_bytes()[:-10] + b"0123456789")
    (tmp_path / "mnist.json").write_text((SHIPPED / "mnist.json").read_text())
    monkeypatch.setattr(ev, "SHIPPED", tmp_path)
    with pytest.raises(GanstudyError, match="does not match its model card"):
        ev.load("mnist")
    with pytest.raises(GanstudyError, match="ganstudy evaluator train --dataset svhn"):
        ev.load("svhn")


def test_evaluator_training_is_deterministic(tmp_path, svhn_root):
    from ganstudy.metrics.evaluator import train

    a = train("svhn", svhn_root, tmp_path / "a", epochs=1, log=lambda s: None)
    b = train("svhn", svhn_root, tmp_path / "b", epochs=1, log=lambda s: None)
    assert a["sha256"] == b["sha256"] and a["size"] == 32 and a["channels"] == 3


# ------------------------------------------------------------------ reference cache


def test_reference_stats_are_cached_by_content(tmp_path, shared_data):
    from ganstudy.data.registry import get as get_dataset

    images = get_dataset("mnist").load("test", shared_data, None).images[:300]
    evaluator = load("mnist")
    first = reference_stats(evaluator, images, None, "first 300", cache=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name == f"{first.key}.npz"
    again = reference_stats(evaluator, images, None, "first 300", cache=tmp_path)
    assert np.array_equal(again.features, first.features) and np.array_equal(again.sigma, first.sigma)
    other = reference_stats(evaluator, images[:299], None, "first 299", cache=tmp_path)
    assert other.key != first.key and len(list(tmp_path.iterdir())) == 2
    fresh = Features(*evaluator.embed(images[:150]))
    cached = metrics.score(Features(first.features, first.probs, first.radii), fresh)
    assert cached == metrics.score(Features(first.features, first.probs), fresh)  # cached radii change nothing
    files[0].write_bytes(b"garbage")  # a damaged cache file is recomputed
    assert np.array_equal(reference_stats(evaluator, images, None, "x", cache=tmp_path).mu, first.mu)


# ------------------------------------------------------------------ the floor and degradations


def _blur(images, radius=1.5):
    return np.stack([np.asarray(Image.fromarray(im[..., 0]).filter(ImageFilter.GaussianBlur(radius)))[..., None]
                     for im in images])


def _noise(images, sigma=100, seed=0):
    noisy = images.astype(np.float64) + np.random.default_rng(seed).normal(0, sigma, images.shape)
    return noisy.clip(0, 255).round().astype(np.uint8)


def test_real_vs_real_is_the_floor_and_degradations_rank_as_expected(shared_data, tmp_path):
    from ganstudy.data.registry import get as get_dataset

    test = get_dataset("mnist").load("test", shared_data, None)
    evaluator = load("mnist")
    n = 800
    reference = reference_stats(evaluator, test.images[8000:8000 + n], None, "held out", cache=tmp_path)
    pool = test.take(slice(0, 8000))
    ones = pool.images[pool.labels == 1][:n]
    sets = {
        "real": pool.images[:n],
        "blurred": _blur(pool.images[:n]),
        "noised": _noise(pool.images[:n]),
        "one-class": ones,
    }
    real_feats = Features(reference.features, reference.probs)
    scores = {}
    for name, images in sets.items():
        f, p = evaluator.embed(images)
        scores[name] = metrics.score(real_feats, Features(f, p))
    floor = scores["real"]
    worse = lambda metric, name: (scores[name][metric] > floor[metric]) == metrics.get(metric).lower_is_better \
        and scores[name][metric] != floor[metric]  # noqa: E731
    # Every degradation is worse than real data on the distances and on coverage of the data.
    for metric in ("fid", "kid", "coverage"):
        for name in ("blurred", "noised", "one-class"):
            assert worse(metric, name), (metric, name, scores[name][metric], floor[metric])
    # Fidelity metrics punish bad images; they do not see a dropped mode (one class is real data).
    for metric in ("precision", "density"):
        for name in ("blurred", "noised"):
            assert worse(metric, name), (metric, name)
    # Diversity metrics punish the missing classes most of all.
    for metric in ("recall", "classes_covered", "mode_kl", "classifier_score"):
        assert worse(metric, "one-class"), metric
    assert scores["one-class"]["classes_covered"] == 1 and floor["classes_covered"] == 10
    assert floor["precision"] > 0.6 and floor["recall"] > 0.6 and floor["fid"] < scores["noised"]["fid"] / 5
    assert floor["kid_se"] > 0
