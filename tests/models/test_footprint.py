"""The memory estimate preflight checks a run against (``models.footprint``): its parameter
count is the built model's, exactly; its activations grow with the batch as a step's do; and a
real training step's peak memory, measured in a process of its own, is within a small factor of
it (seen here: 239-254 MiB against 276 where weights and Adam dominate, 261-265 against 306 where a
batch's activations do). Preflight uses it to catch sizes off by orders of magnitude."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny

from ganstudy.models.footprint import footprint
from ganstudy.models.registry import get


@pytest.mark.parametrize("keys, shape", [({}, (28, 28, 1)), ({"model.arch": "dcgan"}, (32, 32, 3))])
def test_the_parameter_count_is_the_built_models(keys, shape):
    cfg = tiny(**keys)
    g, d = get(cfg.model.arch).build(cfg.model, shape, "sigmoid")
    built = sum(p.numel() for net in (g, d) for p in net.parameters())
    assert footprint(cfg.model, shape, "sigmoid", 16).parameters == built


def test_activations_grow_with_the_batch():
    cfg = tiny()
    small, large = (footprint(cfg.model, (28, 28, 1), "sigmoid", b) for b in (16, 64))
    assert large.activations == 4 * small.activations and large.parameters == small.parameters


STEP = """
import json, sys, torch
from conftest import tiny
from ganstudy.models.registry import get
torch.set_num_threads(1)
widths, batch = json.loads(sys.argv[1])
cfg = tiny(**{"model.g_widths": widths, "model.d_widths": widths[::-1], "model.g_batchnorm": True,
              "model.d_batchnorm": False, "train.batch_size": batch})
def status(field):  # kB, from the kernel's account of this process
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field + ":"))
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) from here on, not the imports'
g, d = get("mlp").build(cfg.model, (28, 28, 1), "sigmoid")
opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
bce = torch.nn.BCELoss()
for _ in range(2):  # Adam's moments exist after the first step
    z = torch.randn(batch, cfg.model.latent_dim)
    real = torch.rand(batch, 1, 28, 28)
    fake = g(z)
    loss_d = bce(d(real), torch.ones(batch, 1)) + bce(d(fake.detach()), torch.zeros(batch, 1))
    opt_d.zero_grad(); loss_d.backward(); opt_d.step()
    loss_g = bce(d(fake), torch.ones(batch, 1))
    opt_g.zero_grad(); loss_g.backward(); opt_g.step()
print((status("VmHWM") - before) * 1024)
"""


@pytest.mark.parametrize("widths, batch", [([1024, 2048], 64), ([256, 512], 4096)], ids=["weights", "activations"])
def test_a_real_step_needs_less_than_the_estimate_and_not_much_less(widths, batch, tmp_path):
    """Once dominated by weights and Adam, once by a batch's activations: the peak a step adds
    to its process (VmHWM, reset after the imports) is between half the estimate and a quarter
    more."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("measuring a step's peak memory needs Linux's /proc/self/clear_refs")
    cfg = tiny(**{"model.g_widths": widths, "model.d_widths": widths[::-1], "model.g_batchnorm": True,
                  "model.d_batchnorm": False})
    estimate = footprint(cfg.model, (28, 28, 1), "sigmoid", batch).bytes
    tests = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", STEP, json.dumps([widths, batch])], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": tests}, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    measured = int(done.stdout.split()[-1])
    assert estimate / 2 <= measured <= 1.25 * estimate, (measured, estimate)
