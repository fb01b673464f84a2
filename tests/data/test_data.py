import gzip

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from ganstudy.base.errors import DataError
from ganstudy.data.files import conform, load_images, load_mat, load_npz
from ganstudy.data.idx import read_idx
from ganstudy.data.prepare import load_training_data, scale, unscale
from ganstudy.spec.config import DataConfig
from ganstudy.training.images import grid


def test_mnist_test_split_with_holdout(shared_data):
    data = load_training_data(DataConfig(split="test", holdout=2000), shared_data)
    assert data.train.images.shape == (8000, 28, 28, 1) and data.train.images.dtype == np.uint8
    assert data.holdout is not None and len(data.holdout) == 2000
    assert data.train.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the famous first test digits
    assert "test split" in data.description and "training on 8000" in data.description


def test_fashion_mnist_all_split(shared_data):
    data = load_training_data(DataConfig(dataset="fashion-mnist", split="all", limit=100), shared_data)
    assert data.train.images.shape == (100, 28, 28, 1)
    assert "70000 images" in data.description


def test_extra_mat_is_50_rgb_32x32_in_the_right_orientation(shared_data):
    path = shared_data / "cits4404" / "extra.mat"
    images = load_images(path)
    assert images.shape == (50, 32, 32, 3) and images.dtype == np.uint8
    raw = scipy.io.loadmat(path)["A"]  # MATLAB layout H x W x C x N
    # The grid built from the loaded images equals one built by indexing the raw array by hand.
    by_hand = np.stack([raw[:, :, :, i] for i in range(50)])
    assert np.array_equal(grid(images, 10), grid(by_hand, 10))
    # Orientation: rows of the image are the first MATLAB axis (house numbers are upright,
    # so the picture is not mirrored: a transposed copy differs).
    assert not np.array_equal(images, images.transpose(0, 2, 1, 3))


def test_extra_images_are_conformed_to_the_dataset(shared_data):
    data = load_training_data(DataConfig(split="test", limit=100, extra=[str(shared_data / "cits4404" / "extra.mat")]),
                              shared_data)
    assert data.train.images.shape == (150, 28, 28, 1)
    assert (data.train.labels[100:] == -1).all()
    assert "plus 50 extra images" in data.description


def test_extra_path_found_in_data_root(shared_data):
    data = load_training_data(DataConfig(split="test", limit=10, extra=["cits4404/extra.mat"]), shared_data)
    assert len(data.train) == 60


def test_conform_grey_to_rgb_and_back():
    grey = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    rgb = conform(grey, (4, 4, 3), "t")
    assert rgb.shape == (1, 4, 4, 3) and (rgb[..., 0] == grey[..., 0]).all()
    assert np.array_equal(conform(rgb, (4, 4, 1), "t"), grey)
    assert conform(grey, (8, 8, 1), "t").shape == (1, 8, 8, 1)


def test_svhn_layout_and_label_ten_is_zero(svhn_root):
    data = load_training_data(DataConfig(dataset="svhn", split="train"), svhn_root)
    raw = scipy.io.loadmat(svhn_root / "svhn" / "train_32x32.mat")
    assert data.train.images.shape == (64, 32, 32, 3)
    assert np.array_equal(data.train.images[3], raw["X"][:, :, :, 3])
    assert data.train.labels[9] == 0 and data.train.labels[0] == 1
    both = load_training_data(DataConfig(dataset="svhn", split="all"), svhn_root)
    assert len(both.train) == 80


def test_npz_and_folder_datasets(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "imgs.npz", images=x)
    assert np.array_equal(load_npz(tmp_path / "imgs.npz"), x)
    np.savez(tmp_path / "nchw.npz", x=x.transpose(0, 3, 1, 2))
    assert np.array_equal(load_npz(tmp_path / "nchw.npz"), x)
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, im in enumerate(x):
        Image.fromarray(im).save(folder / f"{i:02d}.png")
    data = load_training_data(DataConfig(dataset="folder", path=str(folder)))
    assert np.array_equal(data.train.images, x)


def test_npz_with_objects_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "evil.npz", images=np.array([{"a": 1}] * 4, dtype=object))
    with pytest.raises(DataError, match="pickle"):
        load_npz(tmp_path / "evil.npz")


def test_mat_without_image_array(tmp_path):
    scipy.io.savemat(tmp_path / "labels.mat", {"y": np.arange(10)})
    with pytest.raises(DataError, match=r"labels.mat: no image array. It holds y"):
        load_mat(tmp_path / "labels.mat")


def test_truncated_gz_is_a_clear_error(tmp_path, shared_data):
    src = (shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(src[: len(src) // 2])
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        (shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_training_data(DataConfig(split="test"), tmp_path)


def test_idx_header_checked_against_length(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    header = bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big") + (2).to_bytes(4, "big") + (2).to_bytes(4, "big")
    path.write_bytes(header + bytes(19))
    with pytest.raises(DataError, match="promises"):
        read_idx(path)
    path.write_bytes(header + bytes(20))
    assert read_idx(path).shape == (5, 2, 2)
    with gzip.open(tmp_path / "y.gz", "wb") as handle:
        handle.write(header + bytes(20))
    assert read_idx(tmp_path / "y.gz").shape == (5, 2, 2)


def test_missing_dataset_says_which_files_to_put_where(tmp_path):
    with pytest.raises(DataError) as err:
        load_training_data(DataConfig(dataset="fashion-mnist", split="train"), tmp_path)
    text = str(err.value)
    assert "train-images-idx3-ubyte.gz" in text and str(tmp_path / "fashion-mnist") in text
    assert "GANSTUDY_OFFLINE" in text
    with pytest.raises(DataError, match='data.split = "test"'):
        load_training_data(DataConfig(dataset="mnist", split="train"), tmp_path)


def test_data_root_order(tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    assert len(load_training_data(DataConfig(split="test", limit=3)).train) == 3  # found through the env var
    with pytest.raises(DataError):
        load_training_data(DataConfig(dataset="svhn"), tmp_path)


def test_scaling_round_trip():
    pixels = torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 1, 3, 1)
    assert torch.allclose(scale(pixels, "zero_one").flatten(), torch.tensor([0.0, 128 / 255, 1.0]))
    assert torch.allclose(scale(pixels, "minus_one_one").flatten(), torch.tensor([-1.0, 128 / 127.5 - 1, 1.0]), atol=1e-6)
    for how in ("zero_one", "minus_one_one"):
        assert torch.equal(unscale(scale(pixels, how), how), pixels)


def _cifar_archive(root, tmp_path):
    """A tiny archive in CIFAR-10's real binary layout: records of a label byte, then the red,
    green and blue planes of 32x32."""
    import io
    import tarfile

    rng = np.random.default_rng(0)
    batches = {}
    for name, n in [(f"data_batch_{i}.bin", 2) for i in range(1, 6)] + [("test_batch.bin", 3)]:
        labels = rng.integers(0, 10, n).astype(np.uint8)
        planes = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
        batches[name] = (labels, planes)
    (root / "cifar10").mkdir(parents=True)
    with tarfile.open(root / "cifar10" / "cifar-10-binary.tar.gz", "w:gz") as tar:
        for name, (labels, planes) in batches.items():
            blob = np.concatenate([labels[:, None], planes.reshape(len(labels), -1)], axis=1).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return batches


def test_cifar10_binary_records_read_in_place(tmp_path):
    from ganstudy.data.registry import get

    batches = _cifar_archive(tmp_path, tmp_path)
    train = get("cifar10").load("train", tmp_path, None)
    assert train.images.shape == (10, 32, 32, 3) and train.labels.tolist() == [
        int(x) for i in range(1, 6) for x in batches[f"data_batch_{i}.bin"][0]]
    labels, planes = batches["data_batch_1.bin"]
    assert np.array_equal(train.images[0, :, :, 0], planes[0, 0]) and np.array_equal(train.images[1, 5, 7], planes[1, :, 5, 7])
    test = get("cifar10").load("test", tmp_path, None)
    assert len(test) == 3 and not (tmp_path / "cifar10" / "cifar-10-batches-bin").exists()  # nothing extracted
    (tmp_path / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="not CIFAR-10's binary archive"):
        get("cifar10").load("test", tmp_path, None)


def test_cifar10_offline_names_the_archive(tmp_path):
    from ganstudy.data.registry import get

    with pytest.raises(DataError, match="cifar-10-binary.tar.gz"):
        get("cifar10").load("train", tmp_path, None)


def test_an_image_folder_of_any_size_is_cropped_and_resized(tmp_path):
    from ganstudy.data.prepare import load_training_data
    from ganstudy.spec.config import DataConfig

    folder = tmp_path / "photos"
    folder.mkdir()
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, 20:60] = 255  # the centre square is white, the sides black
    Image.fromarray(wide).save(folder / "a.png")
    Image.fromarray(np.full((100, 60, 3), 128, np.uint8)).save(folder / "b.jpg")
    Image.fromarray(np.full((32, 32), 200, np.uint8)).save(folder / "c.png")  # grey: made RGB
    data = load_training_data(DataConfig(dataset="folder", path=str(folder), image_size=32))
    assert data.train.images.shape == (3, 32, 32, 3) and "centre-cropped to 32x32" in data.description
    assert data.train.images[0].min() >= 250  # the crop kept the centre square only
    assert load_training_data(DataConfig(dataset="mnist-mini", split="test", image_size=32)).train.shape == (32, 32, 1)
