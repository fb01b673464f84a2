"""Shared fixtures: the offline data folder, tiny configs and tiny real runs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from ganstudy.spec.config import RunConfig
from ganstudy.spec.layers import Layer, build_config

REPO = Path(__file__).resolve().parents[1]
# The offline data: $GANSTUDY_DATA (as .ci/run sets it), else ../shared/data beside the checkout.
SHARED_DATA = Path(os.environ.get("GANSTUDY_DATA") or REPO / ".." / "shared" / "data").resolve()

# No test may reach for the network: missing files must fail with the offline message.
os.environ["GANSTUDY_OFFLINE"] = "1"
torch.set_num_threads(1)  # small models: threads only add noise and contention on 2 cores


#: The optional extras some tests need, and how to install each (README, Install).
EXTRAS = {
    "ray": "the ray extra is not installed (pip install -e \".[ray]\")",
    "browser": "headless Chromium is not installed (apt-get install -y chromium)",
    "tensorboard": "the tensorboard extra is not installed (pip install -e \".[tensorboard]\")",
    "mlflow": "the mlflow extra is not installed (pip install -e \".[mlflow]\")",
    "notebook": "the notebook extra is not installed (pip install -e \".[notebook]\")",
}


def need_ray():
    """Ray, or a skip that says how to get it."""
    return pytest.importorskip("ray", reason=EXTRAS["ray"], exc_type=ImportError)


def chromium() -> str:
    """The headless browser's path, or a skip that says how to get it."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(EXTRAS["browser"])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"the offline data folder {SHARED_DATA} is missing (see shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_timing(request, monkeypatch):
    """`ganstudy plan` times a few iterations of each architecture; tests of other things get
    fixed figures (tests/execution/test_estimate.py times for real)."""
    if request.module.__name__ != "test_estimate":
        from ganstudy.execution import estimate

        monkeypatch.setattr(estimate, "calibrate", lambda cfg, data_root, workers=1, steps=8:
                            estimate.Calibration(cfg.model.arch, 0.01, 1.0))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never read or write the user's real cache, and never see their GANSTUDY_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GANSTUDY_DATA", raising=False)


@pytest.fixture(scope="session")
def svhn_root(tmp_path_factory) -> Path:
    """A tiny data root in SVHN's real file layout (X is 32x32x3xN, label 10 means 0), plus extra.mat."""
    root = tmp_path_factory.mktemp("svhn-root")
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("test", 16)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(n, 1).astype(np.uint8)  # 1..10
        (root / "svhn").mkdir(exist_ok=True)
        scipy.io.savemat(root / "svhn" / f"{split}_32x32.mat", {"X": x, "y": y})
    (root / "cits4404").mkdir()
    (root / "cits4404" / "extra.mat").write_bytes((SHARED_DATA / "cits4404" / "extra.mat").read_bytes())
    return root


def tiny(**keys) -> RunConfig:
    """A fast real config: MNIST test digits, a small MLP, a handful of iterations."""
    base = {
        "data.dataset": "mnist-mini", "data.split": "test", "data.limit": 256,
        "model.g_widths": [32, 64], "model.d_widths": [64, 32], "model.latent_dim": 16,
        "train.iterations": 12, "train.batch_size": 16, "train.log_every": 1,
        "train.sample_every": 5, "train.checkpoint_every": 5,
        "data.holdout": 200, "eval.samples": 200, "eval.reference_samples": 200,
        "eval.curve_points": 0,  # curves are tested where they are drawn (test_report, test_train)
    }
    base.update(keys)
    return build_config([Layer("test", base)])


def run_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """G's and D's weights (and batch norm statistics) from a run folder's last checkpoint."""
    from ganstudy.training.trainer import CHECKPOINT

    ckpt = torch.load(Path(run_dir) / CHECKPOINT, weights_only=True)
    return {**{f"g.{k}": v for k, v in ckpt["g"].items()}, **{f"d.{k}": v for k, v in ckpt["d"].items()}}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Bitwise equality of two weight dicts."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def weight_gap(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The largest absolute difference between two weight dicts (same keys)."""
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


#: A tiny real study (2 seeds, a small MLP on shipped digits) that runner and executor tests share.
TINY_STUDY = """
[study]
name = "{name}"
seeds = 2

[baseline]
data.dataset = "mnist-mini"
data.split = "test"
data.limit = 256
data.holdout = 200
eval.samples = 200
eval.curve_points = 0
model.g_widths = [32, 64]
model.d_widths = [64, 32]
model.latent_dim = 16
train.iterations = {iterations}
train.batch_size = 16
train.log_every = 5
train.sample_every = 50
train.checkpoint_every = {checkpoint_every}

[[cases]]
id = "lr-high"
set = {{ "optim.lr" = 0.001 }}
{extra}
"""


def write_tiny_study(folder: Path, name: str = "tiny", iterations: int = 20, checkpoint_every: int = 10,
                     extra: str = "", file: str = "tiny.toml") -> Path:
    path = folder / file
    path.write_text(TINY_STUDY.format(name=name, iterations=iterations, checkpoint_every=checkpoint_every, extra=extra))
    return path


def installed_package(site: Path, name: str, code: str, group: str, entry: str) -> dict[str, str]:
    """A package ``name`` (its ``__init__`` is ``code``) installed in ``site`` with one entry
    point ``entry`` in ``group``, as pip would leave it; returns the environment of a fresh
    interpreter that sees it (and nothing else of this one)."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(code)
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry} = {name}\n")
    return {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
