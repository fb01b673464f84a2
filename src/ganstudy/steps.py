"""One training iteration in each step style.

``keras`` reproduces Keras-GAN's ``gan.py``: the fakes for D come from G in inference mode
(Keras ``predict`` uses batch norm moving statistics), D takes two separate updates (real
batch, then fake batch), then a fresh z and one G update through D. With D frozen in the
combined model (``d_learns_in_g_step = false``) D's weights and batch norm moving
statistics do not change in the G step, as in Keras 2.2.

``pytorch`` is the common PyTorch loop: one D step on the mean of both losses, and the
G step reuses the same fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .config import RunConfig
from .losses import GanLoss, gradient_penalty

#: Names of the per-iteration statistics, in the order a step returns them.
STAT_NAMES = ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss")


@dataclass
class GanState:
    cfg: RunConfig
    g: nn.Module
    d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    opt_dg: torch.optim.Optimizer | None  # D's own Adam in the combined model (d_learns_in_g_step)
    loss: GanLoss
    rng: torch.Generator  # the training stream: batch indices, noise, interpolation weights
    device: torch.device

    def noise(self, n: int) -> Tensor:
        z = torch.randn(n, self.cfg.model.latent_dim, generator=self.rng)
        return z.to(self.device, non_blocking=True)


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Batch statistics are still used, but moving averages are left untouched (momentum 0)."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum


@contextmanager
def no_param_grads(module: nn.Module, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


def _update(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _d_fake_loss(s: GanState, out: Tensor, real: Tensor, fake: Tensor) -> Tensor:
    loss = s.loss.d_fake(out, s.cfg.loss.clip_eps)
    if s.loss.gradient_penalty and s.cfg.loss.gp_weight > 0:
        loss = loss + s.cfg.loss.gp_weight * gradient_penalty(s.d, real, fake, s.rng)
    return loss


def _g_step(s: GanState, fake: Tensor) -> Tensor:
    """G's update through D. D steps too (its own Adam) only with d_learns_in_g_step."""
    learns = s.cfg.train.d_learns_in_g_step
    stats_guard = frozen_batchnorm_stats(s.d) if not learns else _nothing()
    with no_param_grads(s.d, enabled=not learns), stats_guard:
        g_loss = s.loss.g(s.d(fake), s.cfg.loss.clip_eps)
        s.opt_g.zero_grad(set_to_none=True)
        if learns:
            assert s.opt_dg is not None
            s.opt_dg.zero_grad(set_to_none=True)
        g_loss.backward()
        s.opt_g.step()
        if learns:
            s.opt_dg.step()  # type: ignore[union-attr]
    return g_loss.detach()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def keras_step(s: GanState, real_batch: Callable[[], Tensor]) -> Tensor:
    cfg = s.cfg
    for _ in range(cfg.train.d_steps):
        real = real_batch()
        z = s.noise(real.shape[0])
        s.g.eval()
        with torch.no_grad():
            fake = s.g(z)
        s.g.train()
        out_real = s.d(real)
        d_real = s.loss.d_real(out_real, cfg.loss.label_smoothing, cfg.loss.clip_eps)
        _update(s.opt_d, d_real)
        out_fake = s.d(fake)
        d_fake = _d_fake_loss(s, out_fake, real, fake)
        _update(s.opt_d, d_fake)
    g_loss = _g_step(s, s.g(s.noise(cfg.train.batch_size)))
    with torch.no_grad():
        return torch.stack([d_real.detach(), d_fake.detach(), s.loss.accuracy(out_real.detach(), True),
                            s.loss.accuracy(out_fake.detach(), False), g_loss])


def pytorch_step(s: GanState, real_batch: Callable[[], Tensor]) -> Tensor:
    cfg = s.cfg
    for _ in range(cfg.train.d_steps):
        real = real_batch()
        fake = s.g(s.noise(real.shape[0]))
        out_real = s.d(real)
        out_fake = s.d(fake.detach())
        d_real = s.loss.d_real(out_real, cfg.loss.label_smoothing, cfg.loss.clip_eps)
        d_fake = _d_fake_loss(s, out_fake, real, fake.detach())
        _update(s.opt_d, 0.5 * (d_real + d_fake))
    g_loss = _g_step(s, fake)
    with torch.no_grad():
        return torch.stack([d_real.detach(), d_fake.detach(), s.loss.accuracy(out_real.detach(), True),
                            s.loss.accuracy(out_fake.detach(), False), g_loss])


STEP_STYLES: dict[str, Callable[[GanState, Callable[[], Tensor]], Tensor]] = {
    "keras": keras_step,
    "pytorch": pytorch_step,
}
