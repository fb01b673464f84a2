"""User plugins: a module that registers a model, a loss and a data set, named by a study
(``[study] imports``), works in the driver, in spawned workers and on Ray workers; a module
that does not import is a clear error; installed entry points are found in any process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import need_ray

from ganstudy.cli.main import main

PLUGIN = '''
"""A user's GAN parts: registering is all it does."""
import numpy as np

from ganstudy.data.registry import DatasetSpec, ImageSet, get as dataset, register as register_dataset
from ganstudy.models.losses import GanLoss, clipped_bce, register as register_loss
from ganstudy.models import mlp
from ganstudy.models.registry import Arch, get as arch, register as register_arch

register_loss(GanLoss("halfbce", "sigmoid", 0.5, lambda o, t, e: 0.5 * clipped_bce(o, t, e),
                      lambda o, t, e: 0.5 * clipped_bce(o, t, e), summary="half a BCE (a plugin)"))
register_arch(Arch("plug-mlp", mlp.build, {**arch("mlp").defaults, "g_widths": [24, 48], "d_widths": [48, 24]},
                   "a plugin's small MLP", "mlp"))


def _digits(split, data_root, path):
    base = dataset("mnist-mini").load("test", data_root, path)
    flipped = np.ascontiguousarray(base.images[:, ::-1])  # upside-down digits: a data set of our own
    return ImageSet(flipped, base.labels, "upside-down shipped digits (a plugin)")


register_dataset(DatasetSpec("plug-digits", _digits, "upside-down digits (a plugin)"))
'''

STUDY = """
[study]
name = "plugged"
seeds = 2
imports = ["{module}"]

[baseline]
data.dataset = "plug-digits"
data.split = "test"
data.limit = 256
data.holdout = 200
eval.samples = 200
eval.curve_points = 0
eval.features = "unlabelled"
model.arch = "plug-mlp"
model.latent_dim = 16
train.iterations = 10
train.batch_size = 16
train.log_every = 5
train.sample_every = 50
train.checkpoint_every = 10

[[cases]]
id = "half-bce"
set = {{ "loss.kind" = "halfbce" }}
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> tuple[Path, str]:
    """A plugin module beside the study file, not on any path the workers start with."""
    folder = tmp_path_factory.mktemp("plugin")
    module = "my_gan_parts_for_tests"
    (folder / f"{module}.py").write_text(PLUGIN)
    return folder, module


def _study(folder: Path, module: str, name: str = "plugged.toml") -> Path:
    path = folder / name
    path.write_text(STUDY.format(module=module))
    return path


def _configs(out: Path) -> dict[str, dict]:
    return {p.parent.parent.name + "/" + p.parent.name: json.loads(p.read_text())
            for p in out.glob("runs/*/*/config.json")}


def _check_used(out: Path) -> None:
    configs = _configs(out)
    assert len(configs) == 4, configs.keys()
    for where, cfg in configs.items():
        flat = cfg["config"]
        assert flat["model"]["arch"] == "plug-mlp" and flat["data"]["dataset"] == "plug-digits", where
        assert flat["loss"]["kind"] == ("halfbce" if where.startswith("half-bce") else "bce"), where
    for result in out.glob("runs/*/*/result.json"):
        assert json.loads(result.read_text())["status"] == "complete", result


def test_a_studys_plugins_reach_spawned_workers(plugin, tmp_path, capsys):
    folder, module = plugin
    out = tmp_path / "out"
    assert main(["run", str(_study(folder, module)), "--out", str(out), "--workers", "2", "--quiet",
                 "--set", "train.vectorize_seeds=false"]) == 0, capsys.readouterr().err
    _check_used(out)
    # the study folder keeps its imports: continuing it elsewhere re-imports them
    assert f'imports = ["{module}"]' in (out / "study.toml").read_text()
    assert main(["report", str(out)]) == 0


@pytest.mark.ray
def test_a_studys_plugins_reach_ray_workers(plugin, tmp_path, capsys):
    need_ray()
    folder, module = plugin
    out = tmp_path / "out"
    assert main(["run", str(_study(folder, module)), "--out", str(out), "--executor", "ray", "--workers", "2",
                 "--quiet"]) == 0, capsys.readouterr().err
    _check_used(out)


def test_a_module_that_does_not_import_is_named(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(STUDY.format(module="no_such_gan_module"))
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no_such_gan_module" in err and str(path) in err and "[study] imports" in err
    assert "Traceback" not in err
    broken = tmp_path / "broken_parts.py"
    broken.write_text("import numpy\nraise RuntimeError('my plugin is broken')\n")
    path.write_text(STUDY.format(module="broken_parts"))
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken_parts" in err and "my plugin is broken" in err


def test_train_imports_a_module_named_on_the_command_line(plugin, tmp_path, monkeypatch, capsys):
    folder, module = plugin
    monkeypatch.chdir(folder)  # found beside the working folder, as Python finds a script's neighbours
    cfg = tmp_path / "run.toml"
    cfg.write_text(textwrap.dedent("""
        [data]
        dataset = "plug-digits"
        split = "test"
        limit = 128
        holdout = 64
        [model]
        arch = "plug-mlp"
        latent_dim = 8
        [loss]
        kind = "halfbce"
        [train]
        iterations = 4
        batch_size = 8
        [eval]
        metrics = []
        """))
    assert main(["train", str(cfg), "--out", str(tmp_path / "run"), "--import", module, "--quiet"]) == 0, \
        capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "result.json").read_text())["status"] == "complete"


def test_installed_entry_points_are_found_in_any_process(tmp_path):
    """A package that declares ``ganstudy.losses`` is loaded in a fresh interpreter (a worker)
    without anyone importing it, and a broken one is named."""
    from conftest import installed_package

    site = tmp_path / "site"
    env = installed_package(site, "plugged_pkg", "from ganstudy.models.losses import GanLoss, clipped_bce, register\n"
                            "register(GanLoss('entry-bce', 'sigmoid', 0.5, clipped_bce, clipped_bce, "
                            "summary='from an entry point'))\n", "ganstudy.losses", "entry")
    code = "from ganstudy.cli.main import main; import sys; sys.exit(main(['losses']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "entry-bce" in done.stdout and "from an entry point" in done.stdout
    (site / "plugged_pkg" / "__init__.py").write_text("raise ImportError('half installed')\n")
    code = "from ganstudy.cli.main import main; import sys; sys.exit(main(['keys', 'loss.kind']))"
    done = subprocess.run([sys.executable, "-c", code.replace("keys', 'loss.kind", "losses")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "plugged-pkg" in done.stderr and "half installed" in done.stderr and "Traceback" not in done.stderr
