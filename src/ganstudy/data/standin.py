"""``svhn-standin``: an offline stand-in for SVHN, made from the MNIST digits that ship with
ganstudy, so the second write-up's study (a DCGAN on 32x32 colour house numbers) runs on a
machine that has no SVHN.

It keeps the task's shape: 32x32 RGB, ten digit labels, a digit in the centre in a colour
of its own, on a background of another colour with a gradient, blotches and pixel noise,
and parts of neighbouring digits at the left and right edges, as house numbers have. It is
not SVHN: its scores say nothing about SVHN's, only about one change against another.

The images are a pure function of the shipped digits and a fixed seed (``VERSION`` names
the recipe): the same on every machine, cached in the user cache after the first build.
The train split renders the first 4,000 shipped digits three times each (12,000 images);
the test split renders the last 1,000 twice (2,000), so no digit is in both.
"""

from __future__ import annotations

import colorsys
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..base.atomic import atomic_write
from .registry import ImageSet

VERSION = 1
SIZE = 32
SPLITS = {"train": (slice(0, 4000), 3), "test": (slice(4000, 5000), 2)}


def _colour(rng: np.random.Generator, value: float) -> np.ndarray:
    rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.25, 0.9), value)
    return np.array(rgb) * 255.0


def _scaled(digit: np.ndarray, height: int) -> np.ndarray:
    """A 28x28 digit resized to ``height`` pixels (square), as alpha in [0, 1]."""
    return np.asarray(Image.fromarray(digit).resize((height, height), Image.BILINEAR), dtype=np.float64) / 255.0


def _paste(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray, top: int, left: int) -> None:
    """Composite ``colour`` through ``alpha`` onto ``canvas`` at (top, left), clipped to the canvas."""
    h, w = alpha.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, SIZE), min(left + w, SIZE)
    if y0 >= y1 or x0 >= x1:
        return
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left, None]
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - a) + colour * a


def render(digits: np.ndarray, labels: np.ndarray, copies: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` colour renders of each 28x28 grey digit: (N * copies, 32, 32, 3) uint8 and labels."""
    rng = np.random.default_rng(seed)
    n = len(digits)
    out = np.empty((n * copies, SIZE, SIZE, 3), np.uint8)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    for k in range(n * copies):
        i = k % n
        bg_value = rng.uniform(0.15, 0.95)
        fg_value = bg_value - 0.55 if bg_value > 0.55 else bg_value + 0.55  # the digit stands out
        background = _colour(rng, bg_value)
        slope = rng.normal(0, 40, 2)
        canvas = background + (slope[0] * (yy - 0.5) + slope[1] * (xx - 0.5))[..., None]
        blotches = np.asarray(Image.fromarray(rng.normal(0, 1, (4, 4)).astype(np.float32)).resize((SIZE, SIZE), Image.BICUBIC))
        canvas = canvas + rng.uniform(5, 25) * blotches[..., None]
        ink = _colour(rng, fg_value)
        for side in (-1, 1):  # neighbouring digits, cut by the image's edge
            if rng.random() < 0.6:
                other = digits[rng.integers(n)]
                height = int(rng.integers(22, 29))
                left = (SIZE - height) // 2 + side * int(rng.integers(17, 23))
                _paste(canvas, _scaled(other, height), ink * rng.uniform(0.85, 1.15), int(rng.integers(-2, 3)) + 2, left)
        height = int(rng.integers(22, 29))
        top = (SIZE - height) // 2 + int(rng.integers(-2, 3))
        left = (SIZE - height) // 2 + int(rng.integers(-2, 3))
        _paste(canvas, _scaled(digits[i], height), ink, top, left)
        canvas = canvas + rng.normal(0, 6, canvas.shape)
        out[k] = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return out, np.tile(labels, copies)


def _build(split: str) -> tuple[np.ndarray, np.ndarray]:
    from .root import PACKAGED

    with np.load(PACKAGED / "mnist_test_5000.npz", allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    part, copies = SPLITS[split]
    seed = int.from_bytes(hashlib.sha256(f"svhn-standin:{VERSION}:{split}".encode()).digest()[:8], "big")
    return render(images[part], labels[part], copies, seed)


def load(split: str, data_root: Path | None, path: str | None) -> ImageSet:
    from ..base.errors import DataError
    from ..base.paths import cache_dir

    if split not in SPLITS and split != "all":
        raise DataError(f"svhn-standin has the splits train, test and all, not '{split}'.")
    parts = list(SPLITS) if split == "all" else [split]
    images, labels = [], []
    for part in parts:
        cached = cache_dir() / "data" / f"svhn-standin-v{VERSION}-{part}.npz"
        try:
            with np.load(cached, allow_pickle=False) as archive:
                x, y = archive["images"], archive["labels"]
        except (FileNotFoundError, OSError, ValueError, KeyError):
            x, y = _build(part)
            atomic_write(cached, lambda handle, x=x, y=y: np.savez_compressed(handle, images=x, labels=y))
        images.append(x)
        labels.append(y)
    n = sum(len(x) for x in images)
    return ImageSet(np.concatenate(images), np.concatenate(labels),
                    f"svhn-standin {split} split, {n} images (MNIST digits in colour on clutter: a stand-in for SVHN)")
