import math

import pytest

from ganstudy.spec.layers import load_config
from ganstudy.training.schedules import lr_factor


def _lr(cfg, it, total=100, per_epoch=10):
    return cfg.optim.lr * lr_factor(cfg.optim, it, total, per_epoch)


def test_step_values_in_epochs_as_the_cits4404_write_up():
    cfg = load_config(None, ["optim.lr=0.01", "optim.schedule=step", "optim.milestone_unit=epoch",
                             "optim.milestones=[20, 40, 60, 80]", "optim.values=[0.005, 0.002, 0.001, 0.0005]"])
    per_epoch = 7
    expected = {0: 0.01, 20 * 7 - 1: 0.01, 20 * 7: 0.005, 45 * 7: 0.002, 60 * 7: 0.001, 99 * 7: 0.0005}
    for it, lr in expected.items():
        assert _lr(cfg, it, 700, per_epoch) == pytest.approx(lr), it


def test_step_gamma_in_iterations():
    cfg = load_config(None, ["optim.schedule=step", "optim.milestones=[10, 30]", "optim.gamma=0.1"])
    assert [_lr(cfg, it) for it in (9, 10, 29, 30)] == pytest.approx([2e-4, 2e-5, 2e-5, 2e-6])


def test_linear_and_cosine():
    lin = load_config(None, ["optim.schedule=linear", "optim.min_factor=0.5"])
    assert [_lr(lin, it) for it in (0, 50, 100)] == pytest.approx([2e-4, 1.5e-4, 1e-4])
    cos = load_config(None, ["optim.schedule=cosine"])
    assert [_lr(cos, it) for it in (0, 50, 100)] == pytest.approx([2e-4, 1e-4, 0.0], abs=1e-12)
    assert _lr(cos, 25) == pytest.approx(2e-4 * 0.5 * (1 + math.cos(math.pi / 4)))


def test_constant():
    cfg = load_config(None, [])
    assert _lr(cfg, 0) == _lr(cfg, 99) == 2e-4
