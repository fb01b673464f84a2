"""The dense GAN of Keras-GAN's ``gan/gan.py`` and its variants (widths, depth, batch
norm per layer, activations, dropout)."""

from __future__ import annotations

import math

from torch import nn

from .layers import activation, block, output_head


class Generator(nn.Module):
    """z -> [Dense -> act -> BN] per width -> Dense(H*W*C) -> tanh -> image (N, C, H, W)."""

    def __init__(self, cfg, shape: tuple[int, int, int]) -> None:
        super().__init__()
        h, w, c = shape
        self.out_shape = (c, h, w)
        layers: list[nn.Module] = []
        prev = cfg.latent_dim
        for width, bn in zip(cfg.g_widths, cfg.g_batchnorm):
            layers += block(nn.Linear(prev, width), width, act=activation(cfg.g_activation, cfg.g_slope), bn=bn,
                            bn_position=cfg.bn_position, keras_momentum=cfg.bn_momentum, eps=cfg.bn_eps,
                            dropout=cfg.g_dropout, conv=False)
            prev = width
        layers += [nn.Linear(prev, math.prod(shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z).unflatten(-1, self.out_shape)  # (N, ...) or seed-batched (S, N, ...)


class Discriminator(nn.Module):
    """image -> Flatten -> [Dense -> act (-> BN)] per width -> Dense(1) (-> sigmoid)."""

    def __init__(self, cfg, shape: tuple[int, int, int], head: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        prev = math.prod(shape)
        for width, bn in zip(cfg.d_widths, cfg.d_batchnorm):
            layers += block(nn.Linear(prev, width), width, act=activation(cfg.d_activation, cfg.d_slope), bn=bn,
                            bn_position=cfg.bn_position, keras_momentum=cfg.bn_momentum, eps=cfg.bn_eps,
                            dropout=cfg.d_dropout, conv=False)
            prev = width
        layers += [nn.Linear(prev, 1), *output_head(head)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def build(cfg, shape, head):
    return Generator(cfg, shape), Discriminator(cfg, shape, head)
