"""Convolutional GANs: the DCGAN family for 28x28 and 32x32 images, 1 or 3 channels.

Generator: a dense projection of z to ``g_channels[0]`` maps of size S0, then one block per
further entry of ``g_channels``, then an output layer to the image's channels and tanh.
``g_upsample = "transpose"`` doubles the size in every block and in the output layer with
ConvTranspose(k4, s2, p1) (DCGAN paper, Udacity/CITS4404 style), so S0 = size / 2^len(g_channels);
``"upsample"`` uses nearest x2 + Conv(k3) in every block and a Conv(k3) output layer
(Keras-GAN's dcgan.py), so S0 = size / 2^(len(g_channels) - 1).

Discriminator: one Conv(k, stride, p1) per entry of ``d_channels`` (stride 2 unless
``d_strides`` says otherwise), then Flatten and Dense(1).
"""

from __future__ import annotations

import torch
from torch import nn

from ..base.errors import ConfigError
from .layers import activation, block, output_head


def _start_size(cfg, size: int) -> int:
    ups = len(cfg.g_channels) - (1 if cfg.g_upsample == "upsample" else 0)
    if size % (2**ups):
        raise ConfigError(
            f"model.g_channels = {cfg.g_channels} with model.g_upsample = '{cfg.g_upsample}' upsamples {ups} times, "
            f"but the images are {size}x{size} and {size} is not divisible by {2**ups}. "
            f"Use {'fewer' if ups > 1 else 'more'} generator channels."
        )
    return size // 2**ups


class Generator(nn.Module):
    def __init__(self, cfg, shape: tuple[int, int, int]) -> None:
        super().__init__()
        h, w, c = shape
        if h != w:
            raise ConfigError(f"model.arch = '{cfg.arch}' needs square images, got {h}x{w}.")
        self.s0 = _start_size(cfg, h)
        self.c0 = cfg.g_channels[0]
        act = lambda: activation(cfg.g_activation, cfg.g_slope)  # noqa: E731
        common = dict(bn_position=cfg.bn_position, keras_momentum=cfg.bn_momentum, eps=cfg.bn_eps, dropout=cfg.g_dropout)
        bn = cfg.g_batchnorm
        proj_features = self.c0 * self.s0 * self.s0
        self.project = nn.Linear(cfg.latent_dim, proj_features)
        # Batch norm after the projection normalises per feature map, as in the DCGAN paper.
        post: list[nn.Module] = []
        if bn[0]:
            post.append(nn.BatchNorm2d(self.c0, eps=cfg.bn_eps, momentum=1.0 - cfg.bn_momentum))
        if cfg.g_project_activation:
            post = post + [act()] if cfg.bn_position == "before_act" else [act()] + post
        if cfg.g_dropout > 0:
            post.append(nn.Dropout(cfg.g_dropout))
        layers: list[nn.Module] = post
        prev = self.c0
        for channels, flag in zip(cfg.g_channels[1:], bn[1:]):
            layers += block(self._up(cfg, prev, channels), channels, act=act(), bn=flag, conv=True, **common)
            prev = channels
        if cfg.g_upsample == "transpose":
            layers.append(nn.ConvTranspose2d(prev, c, 4, 2, 1, bias=cfg.conv_bias))
        else:
            layers.append(nn.Conv2d(prev, c, 3, 1, 1, bias=cfg.conv_bias))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    @staticmethod
    def _up(cfg, cin: int, cout: int) -> nn.Module:
        if cfg.g_upsample == "transpose":
            return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=cfg.conv_bias)
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=cfg.conv_bias))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).unflatten(-1, (self.c0, self.s0, self.s0))  # (N, ...) or seed-batched (S, N, ...)
        return self.net(x)


class Discriminator(nn.Module):
    def __init__(self, cfg, shape: tuple[int, int, int], head: str) -> None:
        super().__init__()
        h, w, c = shape
        strides = cfg.d_strides or [2] * len(cfg.d_channels)
        if len(strides) != len(cfg.d_channels):
            raise ConfigError(
                f"model.d_strides has {len(strides)} entries but model.d_channels has {len(cfg.d_channels)}."
            )
        layers: list[nn.Module] = []
        prev, size = c, h
        for channels, stride, flag in zip(cfg.d_channels, strides, cfg.d_batchnorm):
            conv = nn.Conv2d(prev, channels, cfg.d_kernel, stride, 1, bias=cfg.conv_bias)
            layers += block(conv, channels, act=activation(cfg.d_activation, cfg.d_slope), bn=flag,
                            bn_position=cfg.bn_position, keras_momentum=cfg.bn_momentum, eps=cfg.bn_eps,
                            dropout=cfg.d_dropout, conv=True)
            size = (size + 2 - cfg.d_kernel) // stride + 1
            prev = channels
        if size < 1:
            raise ConfigError(f"model.d_channels = {cfg.d_channels}: too many stride-2 layers for {h}x{w} images.")
        layers += [nn.Flatten(), nn.Linear(prev * size * size, 1), *output_head(head)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build(cfg, shape, head):
    return Generator(cfg, shape), Discriminator(cfg, shape, head)

