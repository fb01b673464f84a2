"""Architecture registry. An entry is a builder plus the preset values of every
architecture-dependent key of ``[model]``; a preset is an entry that shares a builder (the
built-ins in :mod:`.builtin`). Also: building G and D, and the noise they start from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..base.registry import Registry

MLP_KEYS = ("g_widths", "d_widths")
CONV_KEYS = ("g_channels", "d_channels", "d_strides", "d_kernel", "g_upsample", "g_project_activation", "conv_bias")


@dataclass(frozen=True)
class Arch:
    name: str
    build: Callable[..., tuple[nn.Module, nn.Module]]  # (model cfg, (H, W, C), d head) -> (G, D)
    defaults: dict[str, Any]
    summary: str
    kind: str = "mlp"  # "mlp" or "conv": which keys apply
    unused: tuple[str, ...] = field(default=())

    def hidden_layers(self, cfg, net: str) -> int:
        """How many per-layer flags (batch norm) the network ``net`` ("g" or "d") takes."""
        key = f"{net}_widths" if self.kind == "mlp" else f"{net}_channels"
        return len(getattr(cfg, key))


ARCHS: Registry[Arch] = Registry("architecture", group="ganstudy.models")
get, names = ARCHS.get, ARCHS.names


def register(arch: Arch) -> Arch:
    unused = CONV_KEYS if arch.kind == "mlp" else MLP_KEYS
    return ARCHS.register(arch.name, Arch(arch.name, arch.build, arch.defaults, arch.summary, arch.kind, unused))


def build(model_cfg, shape: tuple[int, int, int], d_head: str) -> tuple[nn.Module, nn.Module]:
    """G and D for images of ``shape`` (H, W, C), initialised by ``model.init`` from the global torch RNG."""
    from .layers import initialise

    g, d = get(model_cfg.arch).build(model_cfg, shape, d_head)
    initialise(g, model_cfg.init)
    initialise(d, model_cfg.init)
    return g, d


def latent(model_cfg, n: int, generator: torch.Generator) -> torch.Tensor:  # noqa: ANN001 - a ModelConfig
    """z for ``n`` images from ``generator``: N(0, 1), or U(-1, 1) with ``model.noise = "uniform"``
    (the CITS4404 notebook). Training, sample grids and evaluation all draw it this way."""
    if model_cfg.noise == "uniform":
        return torch.rand(n, model_cfg.latent_dim, generator=generator) * 2 - 1
    return torch.randn(n, model_cfg.latent_dim, generator=generator)
