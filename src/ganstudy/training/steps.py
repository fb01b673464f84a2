"""One training iteration in each step style.

``keras`` reproduces Keras-GAN's ``gan.py``: the fakes for D come from G in inference mode
(Keras ``predict`` uses batch norm moving statistics), D takes two separate updates (real
batch, then fake batch), then a fresh z and one G update through D. With D frozen in the
combined model (``d_learns_in_g_step = false``) D's weights and batch norm moving
statistics do not change in the G step, as in Keras 2.2.

``pytorch`` is the common PyTorch loop: one D step on the mean of both losses (their sum
with ``train.d_loss_sum``), and the G step reuses the same fakes (new ones with
``train.g_fresh_noise``: the CITS4404 notebook does both).

The same code steps one run or S seed-batched runs (``GanState.members``): every loss is
reduced per member and the members' losses are summed before ``backward``, so each
member's gradients are exactly its own and its Adam update is the one its separate run
would make (up to floating-point reassociation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..models.losses import GanLoss, MemberLosses, gradient_penalty
from ..models.registry import latent
from ..spec.config import RunConfig
from .optim import FusedAdam

#: Names of the per-iteration statistics, in the order a step returns them.
STAT_NAMES = ("d_loss_real", "d_loss_fake", "d_acc_real", "d_acc_fake", "g_loss")


@dataclass
class GanState:
    """Everything one step needs. ``members`` is None for one run (tensors are (N, ...)) or
    S for S seed-batched runs (tensors are (S, N, ...), see :mod:`ganstudy.models.stacked`)."""

    cfg: RunConfig
    g: nn.Module
    d: nn.Module
    opt_g: FusedAdam
    opt_d: FusedAdam
    opt_dg: FusedAdam | None  # D's own Adam in the combined model (d_learns_in_g_step)
    loss: GanLoss | MemberLosses  # one loss, or each stacked member's own
    rngs: list[torch.Generator]  # training streams (batch indices, noise, interpolation), one per run
    device: torch.device
    members: int | None = None
    d_concat: bool = field(init=False)  # one D forward over real and fake together (see __post_init__)

    def __post_init__(self) -> None:
        # Without batch norm or dropout in D, each output depends on its own input only, so D on
        # cat(real, fake) is the same arithmetic as two calls, in half the matrix multiplies.
        self.d_concat = per_sample(self.d)

    @property
    def rng(self) -> torch.Generator:
        return self.rngs[0]

    @property
    def batch_dim(self) -> int:
        return 0 if self.members is None else 1

    def draw(self, sample: Callable[[torch.Generator], Tensor]) -> Tensor:
        """``sample(generator)`` from each run's own stream, stacked for members."""
        if self.members is None:
            return sample(self.rngs[0]).to(self.device, non_blocking=True)
        return torch.stack([sample(r) for r in self.rngs]).to(self.device, non_blocking=True)

    def noise(self, n: int) -> Tensor:
        return self.draw(lambda r: latent(self.cfg.model, n, r))

    def mean(self, per_sample_values: Tensor) -> Tensor:
        """The loss of each run: one mean, or one mean per member (never across seeds)."""
        if self.members is None:
            return per_sample_values.mean()
        return per_sample_values.flatten(1).mean(1)


def per_sample(module: nn.Module) -> bool:
    """True if no layer mixes samples (batch norm) or draws random numbers (dropout)."""
    return not any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd))
                   or getattr(m, "mixes_samples", False) for m in module.modules())


@contextmanager
def frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Batch statistics are still used, but moving averages are left untouched (momentum 0)."""
    norms = [m for m in module.modules() if hasattr(m, "running_mean") and hasattr(m, "momentum")]
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


def _update(opt: FusedAdam, loss: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.sum().backward()  # members' losses add up: each member's parameters get their own gradient
    opt.step()


def _d_fake_loss(s: GanState, out: Tensor, real: Tensor, fake: Tensor) -> Tensor:
    loss = s.mean(s.loss.d_fake(out, s.cfg.loss.clip_eps))
    if s.loss.gradient_penalty and s.cfg.loss.gp_weight > 0:
        n = real.shape[s.batch_dim]
        alpha = s.draw(lambda r: torch.rand(n, 1, 1, 1, generator=r))
        loss = loss + s.cfg.loss.gp_weight * s.mean(gradient_penalty(s.d, real, fake, alpha))
    return loss


def _g_step(s: GanState, fake: Tensor) -> Tensor:
    """G's update through D. D steps too (its own Adam) only with d_learns_in_g_step."""
    learns = s.cfg.train.d_learns_in_g_step
    stats_guard = frozen_batchnorm_stats(s.d) if not learns else _nothing()
    with no_param_grads(s.d, enabled=not learns), stats_guard:
        g_loss = s.mean(s.loss.g(s.d(fake), s.cfg.loss.clip_eps))
        s.opt_g.zero_grad(set_to_none=True)
        if learns:
            assert s.opt_dg is not None
            s.opt_dg.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        s.opt_g.step()
        if learns:
            s.opt_dg.step()  # type: ignore[union-attr]
    return g_loss.detach()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _stats(s: GanState, d_real: Tensor, d_fake: Tensor, out_real: Tensor, out_fake: Tensor, g_loss: Tensor) -> Tensor:
    """The STAT_NAMES of this iteration: shape (5,), or (S, 5) for members."""
    with torch.no_grad():
        return torch.stack([d_real.detach(), d_fake.detach(), s.mean(s.loss.accuracy(out_real.detach(), True)),
                            s.mean(s.loss.accuracy(out_fake.detach(), False)), g_loss], dim=-1)


def keras_step(s: GanState, real_batch: Callable[[], Tensor]) -> Tensor:
    cfg = s.cfg
    for _ in range(cfg.train.d_steps):
        real = real_batch()
        z = s.noise(real.shape[s.batch_dim])
        s.g.eval()
        with torch.no_grad():
            fake = s.g(z)
        s.g.train()
        out_real = s.d(real)
        d_real = s.mean(s.loss.d_real(out_real, cfg.loss.label_smoothing, cfg.loss.clip_eps))
        _update(s.opt_d, d_real)
        out_fake = s.d(fake)
        d_fake = _d_fake_loss(s, out_fake, real, fake)
        _update(s.opt_d, d_fake)
    g_loss = _g_step(s, s.g(s.noise(cfg.train.batch_size)))
    return _stats(s, d_real, d_fake, out_real, out_fake, g_loss)


def pytorch_step(s: GanState, real_batch: Callable[[], Tensor]) -> Tensor:
    cfg = s.cfg
    for _ in range(cfg.train.d_steps):
        real = real_batch()
        n = real.shape[s.batch_dim]
        fake = s.g(s.noise(n))
        if s.d_concat:
            out_real, out_fake = s.d(torch.cat([real, fake.detach()], s.batch_dim)).split(n, s.batch_dim)
        else:
            out_real, out_fake = s.d(real), s.d(fake.detach())
        d_real = s.mean(s.loss.d_real(out_real, cfg.loss.label_smoothing, cfg.loss.clip_eps))
        d_fake = _d_fake_loss(s, out_fake, real, fake.detach())
        _update(s.opt_d, d_real + d_fake if cfg.train.d_loss_sum else 0.5 * (d_real + d_fake))
    if cfg.train.g_fresh_noise:  # the CITS4404 notebook: G's step generates anew
        fake = s.g(s.noise(cfg.train.batch_size))
    g_loss = _g_step(s, fake)
    return _stats(s, d_real, d_fake, out_real, out_fake, g_loss)


STEP_STYLES: dict[str, Callable[[GanState, Callable[[], Tensor]], Tensor]] = {
    "keras": keras_step,
    "pytorch": pytorch_step,
}
