"""Image grids (the 5x5 sample sheets) written as PNG with Pillow."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ..base.atomic import write_bytes


def grid(images: np.ndarray, nrow: int | None = None, pad: int = 2, pad_value: int = 128) -> np.ndarray:
    """Tile uint8 (N, H, W, C) images row by row into one (H', W', C) image."""
    n, h, w, c = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), pad_value, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        out[y : y + h, x : x + w] = image
    return out


def to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)


def save_png(image: np.ndarray, path: str | Path) -> None:
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    write_bytes(path, buffer.getvalue())


def save_grid(images: np.ndarray, path: str | Path, nrow: int | None = None) -> None:
    save_png(grid(images, nrow), path)
