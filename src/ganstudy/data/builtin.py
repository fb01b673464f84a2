"""The built-in datasets: mnist, fashion-mnist, svhn, cifar10, mnist-mini, svhn-standin, and the
generic mat, npz, folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base.errors import DataError
from . import standin
from .files import load_folder, load_mat, load_npz
from .idx import read_idx
from .registry import DatasetSpec, ImageSet, register
from .root import PACKAGED, RemoteDataset, RemoteFile, locate

MNIST = RemoteDataset(
    folder="mnist",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist", "http://yann.lecun.com/exdb/mnist"),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ),
)
FASHION_MNIST = RemoteDataset(
    folder="fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
    ),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        RemoteFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        RemoteFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ),
)
SVHN = RemoteDataset(
    folder="svhn",
    mirrors=("http://ufldl.stanford.edu/housenumbers",),
    files=(
        RemoteFile("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
        RemoteFile("test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
    ),
)

CIFAR10 = RemoteDataset(
    folder="cifar10",
    mirrors=("https://www.cs.toronto.edu/~kriz",),
    files=(RemoteFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),),  # the "binary version"
)

_IDX_PREFIX = {"train": ("train",), "test": ("t10k",), "all": ("train", "t10k")}
_MAT_SPLITS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}


def _idx_loader(remote: RemoteDataset):
    def load(split: str, data_root: Path | None, path: str | None) -> ImageSet:
        prefixes = _IDX_PREFIX[split]
        names = [f"{p}-{kind}-idx{d}-ubyte.gz" for p in prefixes for kind, d in (("images", 3), ("labels", 1))]
        try:
            files = locate(remote, names, data_root)
        except DataError as exc:
            if split != "test" and remote is MNIST:
                raise DataError(
                    f"{exc} The MNIST training split is often not available offline; the 10,000-digit test "
                    "split can be trained on with data.split = \"test\" (and data.holdout to keep some aside)."
                ) from None
            raise
        images, labels = [], []
        for p in prefixes:
            x = read_idx(files[f"{p}-images-idx3-ubyte.gz"])
            y = read_idx(files[f"{p}-labels-idx1-ubyte.gz"])
            if x.ndim != 3 or y.shape != (x.shape[0],):
                raise DataError(f"{remote.folder}: {p} images {x.shape} and labels {y.shape} do not match.")
            images.append(x[..., None])
            labels.append(y.astype(np.int64))
        where = files[f"{prefixes[0]}-images-idx3-ubyte.gz"].parent
        n = sum(len(x) for x in images)
        return ImageSet(np.concatenate(images), np.concatenate(labels), f"{remote.folder} {split} split, {n} images, from {where}")

    return load


def _svhn(split: str, data_root: Path | None, path: str | None) -> ImageSet:
    names = [f"{s}_32x32.mat" for s in _MAT_SPLITS[split]]
    files = locate(SVHN, names, data_root)
    images, labels = [], []
    for name in names:
        x, arrays = load_mat(files[name])
        if "y" not in arrays:
            raise DataError(f"{files[name]}: an SVHN file needs a label array 'y'.")
        y = arrays["y"].reshape(-1).astype(np.int64)
        y[y == 10] = 0  # SVHN writes the digit 0 as label 10
        images.append(x)
        labels.append(y)
    n = sum(len(x) for x in images)
    return ImageSet(np.concatenate(images), np.concatenate(labels), f"svhn {split} split, {n} images, from {files[names[0]].parent}")


_CIFAR_BATCHES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
_CIFAR_BATCHES["all"] = _CIFAR_BATCHES["train"] + _CIFAR_BATCHES["test"]
_CIFAR_FOLDER = "cifar-10-batches-bin"
_CIFAR_RECORD = 1 + 32 * 32 * 3  # a label byte, then the red, green and blue planes, each 32 rows of 32


def _cifar10(split: str, data_root: Path | None, path: str | None) -> ImageSet:
    """CIFAR-10's binary version: fixed-size records, read in place from the archive (nothing
    extracted, nothing unpickled), or from its extracted folder if one is in a data root."""
    import tarfile

    from .root import candidate_roots

    names = _CIFAR_BATCHES[split]
    folder = next((root / CIFAR10.folder / _CIFAR_FOLDER for root in candidate_roots(data_root)
                   if all((root / CIFAR10.folder / _CIFAR_FOLDER / n).is_file() for n in names)), None)
    if folder is not None:
        blobs, where = [(folder / n).read_bytes() for n in names], folder
    else:
        where = locate(CIFAR10, ["cifar-10-binary.tar.gz"], data_root)["cifar-10-binary.tar.gz"]
        try:
            with tarfile.open(where) as tar:
                members = [tar.getmember(f"{_CIFAR_FOLDER}/{n}") for n in names]
                if not all(m.isfile() for m in members):
                    raise DataError(f"{where}: {_CIFAR_FOLDER}/ holds something other than files.")
                blobs = [tar.extractfile(m).read() for m in members]  # type: ignore[union-attr]
        except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
            raise DataError(f"{where}: not CIFAR-10's binary archive, or damaged ({exc}).") from None
    images, labels = [], []
    for name, blob in zip(names, blobs):
        if len(blob) % _CIFAR_RECORD:
            raise DataError(f"{where}: {name} is {len(blob)} bytes, not whole {_CIFAR_RECORD}-byte records.")
        records = np.frombuffer(blob, np.uint8).reshape(-1, _CIFAR_RECORD)
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    n = sum(len(x) for x in images)
    return ImageSet(np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels),
                    f"cifar10 {split} split, {n} images, from {where}")




def _mnist_mini(split: str, data_root: Path | None, path: str | None) -> ImageSet:
    if split != "test":
        raise DataError(
            "data.dataset = 'mnist-mini' holds only MNIST test-split digits: set data.split = \"test\"."
        )
    with np.load(PACKAGED / "mnist_test_5000.npz", allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    return ImageSet(images[..., None], labels, "mnist-mini: the first 5000 digits of the MNIST test split (shipped)")


def _need_path(name: str, path: str | None) -> Path:
    if not path:
        raise DataError(f"data.dataset = '{name}' needs data.path: the file or folder to read.")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise DataError(f"data.path = '{path}': no such file or folder.")
    return resolved


def _generic(name: str, reader):
    def load(split: str, data_root: Path | None, path: str | None) -> ImageSet:
        source = _need_path(name, path)
        images = reader(source)
        return ImageSet(images, None, f"{len(images)} images from {source}")

    return load


register(DatasetSpec("mnist", _idx_loader(MNIST), "MNIST handwritten digits, 28x28 grey (IDX files)"))
register(DatasetSpec("fashion-mnist", _idx_loader(FASHION_MNIST), "Fashion-MNIST clothes, 28x28 grey (IDX files)"))
register(DatasetSpec("mnist-mini", _mnist_mini, "5,000 MNIST test-split digits shipped with ganstudy (split 'test')"))
register(DatasetSpec("svhn", _svhn, "SVHN house numbers, 32x32 RGB (train_32x32.mat layout)"))
register(DatasetSpec("cifar10", _cifar10, "CIFAR-10, 32x32 RGB, 10 classes (the binary version, cifar-10-binary.tar.gz)"))
register(DatasetSpec("svhn-standin", standin.load, "an offline stand-in for SVHN: the shipped MNIST digits in colour on "
                     "cluttered backgrounds with neighbours, 32x32 RGB, 10 labels (train 12,000, test 2,000)"))
register(DatasetSpec("mat", _generic("mat", lambda p: load_mat(p)[0]), "a MATLAB .mat file with one image array (data.path)", True))
register(DatasetSpec("npz", _generic("npz", load_npz), "a NumPy .npz/.npy image array (data.path)", True))
def _folder(split: str, data_root: Path | None, path: str | None, size: int | None = None) -> ImageSet:
    source = _need_path("folder", path)
    images = load_folder(source, size)
    return ImageSet(images, None, f"{len(images)} images from {source}" + (f", centre-cropped to {size}x{size}"
                                                                           if size else ""))


register(DatasetSpec("folder", _folder, "a folder of image files of any size (data.path; data.image_size to "
                     "centre-crop and resize them)", True, sized=True))
