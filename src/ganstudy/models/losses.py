"""GAN losses behind one signature, in a registry.

Every loss gives the discriminator's loss on a real batch and on a fake batch separately
(the Keras step style updates D on each in turn) and the generator's loss, per sample: the
step reduces them (one mean for a run, one mean per member for seed-batched training, so
each seed's loss and gradients are exactly its own). ``d_head`` says
whether D ends in a sigmoid (probability losses) or gives a raw score; ``threshold`` is the
D output above which an image counts as "real" for the logged accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.registry import Registry

LossFn = Callable[[Tensor, float, float], Tensor]  # (D output, target, clip eps) -> loss per sample


@dataclass(frozen=True)
class GanLoss:
    name: str
    d_head: str  # "sigmoid" or "linear"
    threshold: float
    real: LossFn  # loss of D's output against the "real" target (D on real data, G's objective)
    fake: LossFn  # loss of D's output against the "fake" target
    gradient_penalty: bool = False
    summary: str = ""

    # Losses in fp32 whatever D computed in (train.precision = "bf16"): clipping at 1 - eps and
    # the logs need fp32's 24 significant bits. A no-op in fp32.
    def d_real(self, out: Tensor, smoothing: float, eps: float) -> Tensor:
        return self.real(out.float(), 1.0 - smoothing, eps)

    def d_fake(self, out: Tensor, eps: float) -> Tensor:
        return self.fake(out.float(), 0.0, eps)

    def g(self, out: Tensor, eps: float) -> Tensor:
        # Non-saturating: G wants its fakes called real, with no smoothing.
        return self.real(out.float(), 1.0, eps)

    def accuracy(self, out: Tensor, real: bool) -> Tensor:
        called_real = (out > self.threshold).float()
        return called_real if real else 1.0 - called_real


def clipped_bce(p: Tensor, target: float, eps: float) -> Tensor:
    """Keras's binary cross-entropy on probabilities: clip to [eps, 1-eps], then -log."""
    p = p.clamp(eps, 1.0 - eps)
    return -(target * torch.log(p) + (1.0 - target) * torch.log1p(-p))


def least_squares(out: Tensor, target: float, eps: float) -> Tensor:
    return (out - target) ** 2


def _hinge_real(out: Tensor, target: float, eps: float) -> Tensor:
    # As D's loss on real data: max(0, 1 - D(x)). As G's loss (target 1): -D(G(z)) is used
    # instead, the usual hinge generator objective; told apart by target only for D.
    return F.relu(1.0 - out)


def _hinge_fake(out: Tensor, target: float, eps: float) -> Tensor:
    return F.relu(1.0 + out)


def _critic_real(out: Tensor, target: float, eps: float) -> Tensor:
    return -out


def _critic_fake(out: Tensor, target: float, eps: float) -> Tensor:
    return out


class _HingeLoss(GanLoss):
    def g(self, out: Tensor, eps: float) -> Tensor:
        return -out


LOSSES: Registry[GanLoss] = Registry("loss", group="ganstudy.losses")
get, names = LOSSES.get, LOSSES.names


def register(loss: GanLoss) -> GanLoss:
    return LOSSES.register(loss.name, loss)


def bce_with_logits(out: Tensor, target: float, eps: float) -> Tensor:
    """torch's BCEWithLogitsLoss on D's raw output: no clipping, the sigmoid inside the log."""
    return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target), reduction="none")


register(GanLoss("bce", "sigmoid", 0.5, clipped_bce, clipped_bce, summary="binary cross-entropy, non-saturating G"))
register(GanLoss("bce_logits", "linear", 0.0, bce_with_logits, bce_with_logits,
                 summary="binary cross-entropy on logits (torch's BCEWithLogitsLoss, the CITS4404 notebook)"))
register(GanLoss("mse_sigmoid", "sigmoid", 0.5, least_squares, least_squares,
                 summary="squared error on D's sigmoid output (Keras loss='mse' with D's sigmoid kept)"))
register(GanLoss("mse", "linear", 0.5, least_squares, least_squares, summary="least squares (LSGAN), D without sigmoid"))
register(_HingeLoss("hinge", "linear", 0.0, _hinge_real, _hinge_fake, summary="hinge loss, D without sigmoid"))
register(GanLoss("wasserstein", "linear", 0.0, _critic_real, _critic_fake, gradient_penalty=True,
                 summary="Wasserstein critic with gradient penalty (loss.gp_weight)"))


class MemberLosses:
    """The losses of stacked runs whose loss settings differ (``loss.kind`` with one D head and
    no gradient penalty, ``label_smoothing``, ``clip_eps``): member i's slice of D's output,
    member-first (S, N, ...), gets member i's loss with member i's settings, so each loss is
    the one its separate run computes. The settings a step passes are the first member's and
    are not used here."""

    gradient_penalty = False

    def __init__(self, settings: list[Any]) -> None:  # each member's LossConfig
        self.settings = settings
        self.losses = [get(c.kind) for c in settings]
        if len({loss.d_head for loss in self.losses}) != 1 or any(loss.gradient_penalty for loss in self.losses):
            raise ValueError("stacked losses need one D head and no gradient penalty")
        self.d_head = self.losses[0].d_head

    def _each(self, out: Tensor, fn: Callable[[GanLoss, Any, Tensor], Tensor]) -> Tensor:
        return torch.stack([fn(loss, c, out[i]) for i, (loss, c) in enumerate(zip(self.losses, self.settings))])

    def d_real(self, out: Tensor, smoothing: float, eps: float) -> Tensor:
        return self._each(out, lambda loss, c, o: loss.d_real(o, c.label_smoothing, c.clip_eps))

    def d_fake(self, out: Tensor, eps: float) -> Tensor:
        return self._each(out, lambda loss, c, o: loss.d_fake(o, c.clip_eps))

    def g(self, out: Tensor, eps: float) -> Tensor:
        return self._each(out, lambda loss, c, o: loss.g(o, c.clip_eps))

    def accuracy(self, out: Tensor, real: bool) -> Tensor:
        return self._each(out, lambda loss, c, o: loss.accuracy(o, real))


def gradient_penalty(d: nn.Module, real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 per image, on interpolates ``alpha * real + (1 - alpha) * fake``.

    Images are (N, C, H, W), or (S, N, C, H, W) for S seed-batched members: the norm is
    over each image's own pixels either way."""
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(grad.ndim - 3).norm(dim=-1) - 1.0) ** 2
