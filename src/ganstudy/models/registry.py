"""Architecture registry. An entry is a builder plus the preset values of every
architecture-dependent key of ``[model]``; a preset is an entry that shares a builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..registry import Registry

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


ARCHS: Registry[Arch] = Registry("architecture", lambda: _register_builtin(), group="ganstudy.models")
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


def _register_builtin() -> None:
    from . import dcgan, mlp

    keras_bn = dict(bn_momentum=0.8, bn_eps=1e-3)
    torch_bn = dict(bn_momentum=0.9, bn_eps=1e-5)
    register(Arch("mlp", mlp.build, dict(
        g_widths=[256, 512, 1024], d_widths=[512, 256], g_activation="leaky_relu", d_activation="leaky_relu",
        g_slope=0.2, d_slope=0.2, g_batchnorm=True, d_batchnorm=False, g_dropout=0.0, d_dropout=0.0,
        bn_position="after_act", init="glorot_uniform", **keras_bn),
        "Keras-GAN gan.py: dense G 256-512-1024 with BN, dense D 512-256", "mlp"))
    conv_common = dict(g_activation="relu", d_activation="leaky_relu", g_slope=0.2, d_slope=0.2,
                       g_dropout=0.0, bn_position="before_act", conv_bias=True)
    register(Arch("dcgan", dcgan.build, dict(
        conv_common, g_channels=[256, 128], d_channels=[64, 128, 256], d_kernel=4, g_upsample="transpose",
        g_project_activation=True, g_batchnorm=True, d_batchnorm=[False, True, True], d_dropout=0.0,
        init="normal_002", **torch_bn),
        "DCGAN paper defaults: transposed convs, BN except G output and D input, N(0, 0.02) init", "conv"))
    register(Arch("keras-dcgan", dcgan.build, dict(
        conv_common, g_channels=[128, 128, 64], d_channels=[32, 64, 128, 256], d_strides=[2, 2, 2, 1],
        d_kernel=3, g_upsample="upsample", g_project_activation=True, g_batchnorm=[False, True, True],
        d_batchnorm=[False, True, True, True], d_dropout=0.25, init="glorot_uniform", **keras_bn),
        "Keras-GAN dcgan.py: upsample+conv G, 4-conv D with dropout 0.25", "conv"))
    register(Arch("cits4404-dcgan", dcgan.build, dict(
        conv_common, g_channels=[128, 64, 32], d_channels=[32, 64, 128], d_kernel=4, g_upsample="transpose",
        g_project_activation=False, g_batchnorm=[False, True, True], d_batchnorm=[False, True, True],
        d_dropout=0.0, init="normal_002", **torch_bn),
        "the CITS4404 write-up's SVHN DCGAN: conv_dim 32, k4 s2 p1, three convs each side", "conv"))
    register(Arch("cits4404-notebook", dcgan.build, dict(
        conv_common, g_channels=[128, 64, 32], d_channels=[32, 64, 128], d_kernel=4, g_upsample="transpose",
        g_project_activation=False, g_batchnorm=[False, True, True], d_batchnorm=[False, True, True],
        d_dropout=0.0, init="torch_default", conv_bias=False, noise="uniform", **torch_bn),
        "the CITS4404 notebook's DCGAN as written: no conv biases, torch's default init, z ~ U(-1, 1)", "conv"))

