"""Images from user files: MATLAB .mat, NumPy .npz/.npy, single images and image folders.

Everything comes back as uint8 (N, H, W, C). Arrays are loaded without pickle. Layouts are
recognised from the shape: MATLAB's (H, W, C, N) as in SVHN and the write-up's
``extra.mat``, or (N, H, W, C), (N, C, H, W), (N, H, W) and (H, W, N) for grey images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..base.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_CHANNELS = (1, 3, 4)
_ARRAY_NAMES = ("A", "X", "x", "images", "imgs", "data")


def to_uint8(array: np.ndarray, source: str) -> np.ndarray:
    """Pixels as uint8: integers 0..255 kept, floats in [0, 1] scaled by 255."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise DataError(f"{source}: integer pixels must be in 0..255, got {array.min()}..{array.max()}.")
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        if lo >= 0 and hi <= 1:
            return np.round(array * 255).astype(np.uint8)
        if lo >= 0 and hi <= 255:
            return np.round(array).astype(np.uint8)
        raise DataError(f"{source}: float pixels must be in [0, 1] or [0, 255], got [{lo:g}, {hi:g}].")
    raise DataError(f"{source}: pixels of type {array.dtype} are not images.")


def to_nhwc(array: np.ndarray, source: str, matlab: bool) -> np.ndarray:
    """Recognise the layout of an image array and return (N, H, W, C)."""
    shape = array.shape
    if array.ndim == 4:
        layouts = {  # channel axis -> permutation to (N, H, W, C)
            "hwcn": (2, (3, 0, 1, 2)),
            "nhwc": (3, (0, 1, 2, 3)),
            "nchw": (1, (0, 2, 3, 1)),
        }
        order = ("hwcn", "nhwc", "nchw") if matlab else ("nhwc", "nchw", "hwcn")
        for name in order:
            axis, perm = layouts[name]
            if shape[axis] in _CHANNELS:
                return np.ascontiguousarray(array.transpose(perm))
    elif array.ndim == 3:
        if matlab:
            return np.ascontiguousarray(array.transpose(2, 0, 1))[..., None]  # (H, W, N)
        return array[..., None]  # (N, H, W)
    raise DataError(
        f"{source}: an array of shape {shape} is not a stack of images. Expected (H, W, C, N) as MATLAB/SVHN, "
        "(N, H, W, C), (N, C, H, W), or (N, H, W) for grey images, with C in 1, 3, 4."
    )


def _pick_array(arrays: dict[str, np.ndarray], source: str) -> np.ndarray:
    candidates = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray) and v.ndim in (3, 4) and v.dtype != object}
    for name in _ARRAY_NAMES:
        if name in candidates:
            return candidates[name]
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    found = ", ".join(f"{k} {getattr(v, 'shape', '?')}" for k, v in arrays.items() if not k.startswith("__")) or "nothing"
    what = "no image array" if not candidates else f"several image arrays ({', '.join(candidates)})"
    raise DataError(
        f"{source}: {what}. It holds {found}. Expected one 3-D or 4-D array, ideally named "
        f"one of {', '.join(_ARRAY_NAMES)} (the write-up's extra.mat holds 'A' of shape 32x32x3x50)."
    )


def load_mat(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images (N, H, W, C) and every array of a MATLAB v4-v7.2 file."""
    import scipy.io

    try:
        arrays = scipy.io.loadmat(str(path))
    except NotImplementedError:
        raise DataError(
            f"{path}: MATLAB v7.3 files are HDF5; save it with save(..., '-v7') or convert it to .npz."
        ) from None
    except (ValueError, TypeError, OSError) as exc:
        raise DataError(f"{path}: not a readable MATLAB .mat file ({exc}).") from None
    images = _pick_array(arrays, str(path))
    return to_uint8(to_nhwc(images, str(path), matlab=True), str(path)), arrays


def load_npz(path: Path) -> np.ndarray:
    # numpy takes a file that is neither a zip (.npz) nor starts as a .npy for a pickle, and says so
    # ("pickled data"): what the file is not is the clearer message.
    import zipfile

    if path.suffix != ".npy" and path.is_file() and not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not a .npz file (a .npz is a zip archive of arrays, as np.savez writes); it may be "
                        "cut short, or another kind of file renamed.")
    if path.suffix == ".npy" and path.is_file() and path.open("rb").read(6) != b"\x93NUMPY":
        raise DataError(f"{path}: not a .npy file (no NumPy header; np.save writes one).")
    try:
        if path.suffix == ".npy":
            arrays = {"images": np.load(path, allow_pickle=False)}
        else:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
    except ValueError as exc:
        raise DataError(f"{path}: cannot load it without pickle ({exc}); save plain arrays with np.savez.") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable NumPy file ({exc}).") from None
    images = _pick_array(arrays, str(path))
    return to_uint8(to_nhwc(images, str(path), matlab=False), str(path))


def _read_image(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as img:
            img = img.convert("RGB") if img.mode not in ("L", "RGB") else img
            array = np.asarray(img)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc}).") from None
    return array[..., None] if array.ndim == 2 else array


def load_folder(path: Path, size: int | None = None) -> np.ndarray:
    """All images of a folder (sorted by name). With ``size``, each is centre-cropped to a square
    and resized to ``size`` x ``size``; without, they are brought to the most common size."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder.")
    images = [_read_image(p) for p in files]
    if size is not None:
        images = [square(im[None], size)[0] for im in images]
    shapes = {im.shape[:2] for im in images}
    if len(shapes) > 1:
        target = max(shapes, key=lambda s: sum(im.shape[:2] == s for im in images))
        images = [resize(im[None], target)[0] for im in images]
    channels = max(im.shape[2] for im in images)
    return np.stack([convert_channels(im[None], channels, str(path))[0] for im in images])


def load_images(path: str | Path) -> np.ndarray:
    """Images from any supported file or folder, as uint8 (N, H, W, C)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder.")
    if path.is_dir():
        return load_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return load_mat(path)[0]
    if suffix in (".npz", ".npy"):
        return load_npz(path)
    if suffix in IMAGE_SUFFIXES:
        return _read_image(path)[None]
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .mat, .npz, .npy, an image, or a folder of images.")


def convert_channels(images: np.ndarray, channels: int, source: str) -> np.ndarray:
    """Grey <-> RGB (ITU-R 601 luma, as Pillow's 'L'), dropping alpha."""
    have = images.shape[3]
    if have == 4:
        images, have = images[..., :3], 3
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return np.repeat(images, 3, axis=3)
    if have == 3 and channels == 1:
        luma = images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        return np.round(luma).clip(0, 255).astype(np.uint8)[..., None]
    raise DataError(f"{source}: cannot convert {have}-channel images to {channels} channels.")


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (N, H, W, C) uint8 images to (H', W') with Pillow's antialiased bicubic filter."""
    if images.shape[1:3] == tuple(size):
        return images
    out = []
    for image in images:
        mode_image = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
        resized = np.asarray(mode_image.resize((size[1], size[0]), Image.Resampling.BICUBIC))
        out.append(resized[..., None] if resized.ndim == 2 else resized)
    return np.stack(out)


def conform(images: np.ndarray, shape: tuple[int, int, int], source: str) -> np.ndarray:
    """Make extra images match the dataset's (H, W, C)."""
    images = convert_channels(images, shape[2], source)
    return resize(images, shape[:2])


def square(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) uint8 images centre-cropped to a square and resized to ``size`` x ``size``."""
    h, w = images.shape[1:3]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return resize(np.ascontiguousarray(images[:, top : top + side, left : left + side]), (size, size))
