"""How long does scoring 10,000 generated samples take against cached reference statistics?

Times, in one process: the evaluator's features of 10,000 generated images, every metric
against a cached 10,000-image reference (MNIST test split), and the whole. As a plain
reference it also times the Fréchet distance the common way (scipy.linalg.sqrtm of
S1 S2, as pytorch-fid does) against ganstudy's symmetric eigen-decomposition. Usage:

    GANSTUDY_DATA=../shared/data python benchmarks/metrics_speed.py [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import scipy.linalg
import torch

from ganstudy.data.prepare import load_training_data
from ganstudy.metrics import formulas as m
from ganstudy.metrics import registry as metrics
from ganstudy.metrics.evaluator import load
from ganstudy.metrics.reference import reference_stats
from ganstudy.metrics.registry import Features
from ganstudy.models.registry import build
from ganstudy.spec.layers import load_config
from ganstudy.training.scoring import generate


def scipy_fid(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def best(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(None, ["data.split=test", "eval.samples=10000"])
    evaluator = load("mnist")
    real = load_training_data(cfg.data).train
    with tempfile.TemporaryDirectory() as cache:
        from pathlib import Path

        reference_stats(evaluator, real.images, None, "mnist test", cache=Path(cache))  # fill the cache
        ref_time, ref = best(lambda: reference_stats(evaluator, real.images, None, "mnist test", cache=Path(cache)),
                             args.repeats)
    torch.manual_seed(0)
    g, _ = build(cfg.model, (28, 28, 1), "sigmoid")  # an untrained Keras-GAN generator: the timing is what matters
    images = generate(g, cfg, 10000, seed=0)
    embed_time, (feats, probs) = best(lambda: evaluator.embed(images), args.repeats)
    real_f, fake_f = Features(ref.features, ref.probs, ref.radii), Features(feats, probs)
    per_metric = {}
    for name in ("fid", "kid", "precision", "classifier_score", "mode_kl"):
        spec = metrics.get(name)
        per_metric["precision, recall, density, coverage" if name == "precision" else name], _ = best(lambda spec=spec: spec.compute(real_f, fake_f), args.repeats)
    total_time, _ = best(lambda: metrics.score_images(evaluator, ref, images), args.repeats)
    mu1, s1 = ref.mu, ref.sigma
    mu2, s2 = m.mean_cov(feats)
    ours, ours_v = best(lambda: m.frechet_distance(mu1, s1, mu2, s2), args.repeats)
    plain, plain_v = best(lambda: scipy_fid(mu1, s1, mu2, s2), args.repeats)
    print(f"threads {args.threads}; 10,000 generated vs 10,000 reference images; best of {args.repeats}")
    print(f"load cached reference statistics   {ref_time:7.3f} s")
    print(f"evaluator features of 10,000       {embed_time:7.3f} s")
    for name, t in per_metric.items():
        print(f"  {name:32s} {t:7.3f} s")
    print(f"score_images total (all metrics)   {total_time:7.3f} s   target < 5 s")
    print(f"Frechet distance: ours {1000 * ours:.1f} ms ({ours_v:.4f}), scipy sqrtm {1000 * plain:.1f} ms "
          f"({plain_v:.4f}); ratio {plain / ours:.1f}x faster")


if __name__ == "__main__":
    main()
