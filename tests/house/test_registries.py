"""Every extension point is one registry, and they behave alike: built-ins present wherever
the registry is imported, a name taken twice an error naming both modules, installed plugins
found by entry point (executors included)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from ganstudy.base.registry import DuplicateName, Registry

REGISTRIES = {  # module, a built-in it must hold when nothing else is imported
    "ganstudy.data.registry": ("DATASETS", "mnist"),
    "ganstudy.models.registry": ("ARCHS", "mlp"),
    "ganstudy.models.losses": ("LOSSES", "bce"),
    "ganstudy.metrics.registry": ("METRICS", "fid"),
    "ganstudy.tracking.registry": ("LOGGERS", "tensorboard"),
    "ganstudy.execution.executors": ("EXECUTORS", "ray"),
}


@pytest.mark.parametrize("module", REGISTRIES)
def test_a_registry_imported_alone_holds_its_built_ins(module):
    """A fresh interpreter that imports only the registry module (as a plugin does)."""
    attr, builtin = REGISTRIES[module]
    code = f"import {module} as m; print(m.{attr}.names())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert repr(builtin) in done.stdout, done.stdout


def test_a_name_registered_from_two_modules_is_an_error_naming_both():
    registry: Registry[int] = Registry("widget")
    plugin = types.ModuleType("my_plugin")
    exec("def add(r):\n    r.register('w', 2)\n", plugin.__dict__)
    registry.register("w", 1)  # from this test module
    with pytest.raises(DuplicateName, match=r"widget 'w' is registered twice: by .*test_registries and by my_plugin"):
        plugin.add(registry)
    assert registry.get("w") == 1 and registry.origin("w").endswith("test_registries")
    registry.register("w", 3)  # the same module again (imported a second time): its own entry, replaced
    assert registry.get("w") == 3


def test_a_plugin_cannot_shadow_a_built_in_dataset():
    from ganstudy.data.registry import DatasetSpec, get, register

    with pytest.raises(DuplicateName, match=r"dataset 'mnist' is registered twice: by ganstudy.data.builtin and by"):
        register(DatasetSpec("mnist", lambda *a: None, "a shadow"))
    assert get("mnist").summary.startswith("MNIST")


def test_registration_by_decorator_gives_the_function_back():
    registry: Registry = Registry("thing")

    @registry.decorator("double")
    def double(x):
        return 2 * x

    assert double(2) == 4 and registry.get("double") is double
    assert registry.origin("double").endswith("test_registries")


def test_an_installed_executor_is_found_by_its_entry_point(tmp_path):
    from conftest import installed_package

    env = installed_package(tmp_path / "site", "my_exec", "from ganstudy.execution.executors import register\n"
                            "register('queue', lambda **options: None)\n", "ganstudy.executors", "queue")
    code = "from ganstudy.execution.executors import names; print(names())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['local', 'ray', 'queue']"
