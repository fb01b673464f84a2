"""The semantics of one iteration that the write-ups' changes depend on."""

import pytest
import torch
from conftest import tiny
from torch import nn

from ganstudy.training.optim import FusedAdam
from ganstudy.training.steps import keras_step, pytorch_step
from ganstudy.training.trainer import Trainer


def _state(tmp_path, **keys):
    trainer = Trainer(tiny(**keys), tmp_path)
    trainer._build()
    return trainer.state, trainer.sampler


def _snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("learns", [False, True])
def test_d_changes_in_the_g_step_only_when_it_learns_there(tmp_path, learns):
    s, sampler = _state(tmp_path, **{"train.d_learns_in_g_step": learns, "model.d_batchnorm": True})
    from ganstudy.training.steps import _g_step

    before = _snapshot(s.d)
    _g_step(s, s.g(s.noise(16)))
    after = s.d.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    weights = {k for k in changed if k.endswith(("weight", "bias"))}
    stats = {k for k in changed if "running" in k}
    assert bool(weights) == learns and bool(stats) == learns
    assert (s.opt_dg is not None) == learns
    if learns:  # D's combined-model Adam has its own moments, separate from D's own optimizer
        assert len(s.opt_dg.state) > 0 and len(s.opt_d.state) == 0


def test_keras_step_makes_d_fakes_with_g_in_inference_mode(tmp_path):
    s, sampler = _state(tmp_path)
    modes = []
    s.g.register_forward_hook(lambda m, i, o: modes.append(m.training))
    keras_step(s, sampler)
    assert modes == [False, True]  # predict() for D's fakes, then the G update in training mode
    modes.clear()
    pytorch_step(s, sampler)
    assert modes == [True]  # the plain loop reuses one set of fakes


def test_keras_step_updates_d_twice_per_iteration(tmp_path):
    s, sampler = _state(tmp_path)
    keras_step(s, sampler)
    assert s.opt_d.state[next(iter(s.d.parameters()))]["step"].item() == 2
    s, sampler = _state(tmp_path, **{"train.step_style": "pytorch"})
    pytorch_step(s, sampler)
    assert s.opt_d.state[next(iter(s.d.parameters()))]["step"].item() == 1


def test_bce_is_clipped_like_keras():
    from ganstudy.models.losses import clipped_bce

    p = torch.tensor([0.0, 1.0, 0.5])
    assert clipped_bce(p[:1], 1.0, 1e-7).mean().item() == pytest.approx(-torch.log(torch.tensor(1e-7)).item(), rel=1e-4)
    assert torch.isfinite(clipped_bce(p, 0.0, 1e-7)).all()
    assert clipped_bce(p[2:], 1.0, 1e-7).mean().item() == pytest.approx(0.6931, abs=1e-4)


def test_gradient_penalty_of_a_linear_critic_is_known():
    from ganstudy.models.losses import gradient_penalty

    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # |grad| = 5 everywhere
    real, fake = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    gp = gradient_penalty(critic, real, fake, torch.rand(2, 1, 1, 1))
    assert gp.tolist() == pytest.approx([16.0, 16.0])  # one penalty per image


def test_keras_accuracy_uses_hard_labels():
    from ganstudy.models.losses import get

    bce = get("bce")
    out = torch.tensor([[0.9], [0.4], [0.6], [0.1]])
    assert bce.accuracy(out, real=True).mean().item() == 0.5
    assert bce.accuracy(out, real=False).mean().item() == 0.5


def _plain_pytorch_step(s, real_batch):
    """The step as a user writes it: D on real and fake in two calls, torch's default Adam."""
    from ganstudy.models.losses import clipped_bce

    real = real_batch()
    fake = s.g(s.noise(real.shape[0]))
    d_loss = 0.5 * (clipped_bce(s.d(real), 1.0, 1e-7).mean() + clipped_bce(s.d(fake.detach()), 0.0, 1e-7).mean())
    s.opt_d.zero_grad()
    d_loss.backward()
    s.opt_d.step()
    s.d.requires_grad_(False)
    g_loss = clipped_bce(s.d(fake), 1.0, 1e-7).mean()
    s.opt_g.zero_grad()
    g_loss.backward()
    s.opt_g.step()
    s.d.requires_grad_(True)


@pytest.mark.parametrize("style", ["pytorch", "keras"])
def test_the_fast_step_equals_the_plain_step(tmp_path, style):
    """ganstudy's step (fused Adam; one D call on real + fake when D has no batch norm or
    dropout) against the same step written plainly, from the same weights and random draws."""
    fast, fast_batches = _state(tmp_path / "fast", **{"train.step_style": style})
    plain, plain_batches = _state(tmp_path / "plain", **{"train.step_style": style})
    assert fast.d_concat and isinstance(fast.opt_g, FusedAdam)
    o = plain.cfg.optim
    plain.opt_g = torch.optim.Adam(plain.g.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, foreach=False)
    plain.opt_d = torch.optim.Adam(plain.d.parameters(), lr=o.lr, betas=(o.beta1, o.beta2), eps=o.eps, foreach=False)
    plain_step = _plain_pytorch_step if style == "pytorch" else keras_step
    for _ in range(10):
        (pytorch_step if style == "pytorch" else keras_step)(fast, fast_batches)
        plain_step(plain, plain_batches)
    for mine, theirs in ((fast.g, plain.g), (fast.d, plain.d)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            assert torch.allclose(a.double(), b.double(), atol=1e-5), name  # 1/20 of one Adam step
    s, _ = _state(tmp_path / "bn", **{"model.d_batchnorm": True})
    assert not s.d_concat  # batch norm couples the samples of a call: real and fake stay apart
