"""The metrics as pure functions on feature arrays (float64 where it matters).

References:
- Fréchet distance: Heusel et al. 2017 (FID), here in an evaluator's feature space.
- KID: Bińkowski et al. 2018, unbiased MMD^2 with the cubic polynomial kernel, over subsets.
- Precision / recall: Kynkäänniemi et al. 2019 (k-NN manifolds).
- Density / coverage: Naeem et al. 2020.
- Classifier score: Salimans et al. 2016 (Inception Score) with the evaluator's classifier.
"""

from __future__ import annotations

import numpy as np


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which has the same eigenvalues as S1 S2:
    no complex parts, no ill-conditioned general sqrtm."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    root = _psd_sqrt(s1)
    middle = root @ s2 @ root
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x (m) and y (n) with the cubic polynomial kernel."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sum_xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    sum_yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * kxy.mean())


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 50, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """KID: the mean of unbiased MMD^2 over random subsets, and its standard error
    (std of the subset estimates / sqrt(subsets))."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    # Subsets must differ to give an error estimate: with few samples, take half of them each time.
    size = min(subset_size, max(2, min(len(real), len(fake)) // 2))
    rng = np.random.default_rng(seed)
    values = np.array([
        mmd2_unbiased(real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)])
        for _ in range(subsets)
    ])
    se = float(values.std(ddof=1) / np.sqrt(subsets)) if subsets > 1 else float("nan")
    return float(values.mean()), se


def pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) in float32, computed in chunks to bound memory."""
    a32, b32 = np.asarray(a, np.float32), np.asarray(b, np.float32)
    b_sq = (b32 * b32).sum(axis=1)
    out = np.empty((len(a32), len(b32)), np.float32)
    for start in range(0, len(a32), chunk):
        block = a32[start : start + chunk]
        sq = (block * block).sum(axis=1)[:, None] - 2 * block @ b32.T + b_sq[None, :]
        out[start : start + chunk] = np.sqrt(np.clip(sq, 0, None))
    return out


def kth_neighbour_radii(x: np.ndarray, k: int, distances: np.ndarray | None = None) -> np.ndarray:
    """Distance of each point of x to its k-th nearest other point of x."""
    d = pairwise_distances(x, x) if distances is None else distances
    # Column 0 of the sorted row is the point itself (distance 0): the k-th neighbour is index k.
    return np.partition(d, k, axis=1)[:, k]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision (fakes inside the real manifold) and recall (reals inside the fake manifold)."""
    real_radii = kth_neighbour_radii(real, k)
    fake_radii = kth_neighbour_radii(fake, k)
    d = pairwise_distances(real, fake)  # (n_real, n_fake)
    precision = float((d <= real_radii[:, None]).any(axis=0).mean())
    recall = float((d <= fake_radii[None, :]).any(axis=1).mean())
    return precision, recall


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density: how many real k-NN balls hold each fake, over k (can exceed 1).
    Coverage: share of real points whose k-NN ball holds at least one fake."""
    real_radii = kth_neighbour_radii(real, k)
    inside = pairwise_distances(real, fake) <= real_radii[:, None]
    density = float(inside.sum() / (k * inside.shape[1]))
    coverage = float(inside.any(axis=1).mean())
    return density, coverage


def classifier_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) averaged over splits, and its std across splits."""
    p = np.asarray(probs, np.float64)
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def mode_stats(fake_labels: np.ndarray, real_labels: np.ndarray, n_classes: int,
               min_share: float = 0.1) -> tuple[int, float]:
    """(classes covered, KL(real class histogram || generated one)).

    A class is covered when it gets at least ``min_share`` of the share it has in the real
    data. The KL is taken from the real histogram to the generated one (with a small floor),
    so a missing class costs a lot and the value is 0 when the histograms match."""
    real_hist = np.bincount(real_labels, minlength=n_classes).astype(np.float64)
    fake_hist = np.bincount(fake_labels, minlength=n_classes).astype(np.float64)
    real_p, fake_p = real_hist / real_hist.sum(), fake_hist / fake_hist.sum()
    covered = int(((fake_p >= min_share * real_p) & (real_p > 0)).sum())
    floor = 1e-6
    fake_q = (fake_p + floor) / (1 + floor * n_classes)
    mask = real_p > 0
    kl = float((real_p[mask] * np.log(real_p[mask] / fake_q[mask])).sum())
    return covered, kl
