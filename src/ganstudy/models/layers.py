"""Building blocks shared by the architectures: activations, batch norm with Keras
semantics, weight initialisation, and the hidden-block recipe."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {
    "relu": lambda slope: nn.ReLU(),
    "leaky_relu": lambda slope: nn.LeakyReLU(slope),
    "elu": lambda slope: nn.ELU(),
    "tanh": lambda slope: nn.Tanh(),
    "selu": lambda slope: nn.SELU(),
    "gelu": lambda slope: nn.GELU(),
}


def activation(name: str, slope: float) -> nn.Module:
    return ACTIVATIONS[name](slope)


def batchnorm(features: int, keras_momentum: float, eps: float, conv: bool) -> nn.Module:
    """Keras keeps ``momentum`` of the old running statistic; torch keeps ``1 - momentum``.
    Keras BatchNormalization(momentum=0.8) is torch momentum 0.2."""
    cls = nn.BatchNorm2d if conv else nn.BatchNorm1d
    return cls(features, eps=eps, momentum=1.0 - keras_momentum)


def block(layer: nn.Module, features: int, *, act: nn.Module, bn: bool, bn_position: str,
          keras_momentum: float, eps: float, dropout: float, conv: bool) -> list[nn.Module]:
    """One hidden layer: the weight layer, then activation and batch norm in the chosen
    order (Keras-GAN's MLP: Dense -> LeakyReLU -> BN; DCGAN: Conv -> BN -> ReLU), then dropout."""
    norm = [batchnorm(features, keras_momentum, eps, conv)] if bn else []
    body = [act, *norm] if bn_position == "after_act" else [*norm, act]
    drop = [nn.Dropout(dropout)] if dropout > 0 else []
    return [layer, *body, *drop]


@torch.no_grad()
def initialise(module: nn.Module, scheme: str) -> None:
    """glorot_uniform: Keras's Dense/Conv default (zero bias). normal_002: the DCGAN paper's
    N(0, 0.02) weights and N(1, 0.02) batch norm scales. torch_default: leave as built."""
    if scheme == "torch_default":
        return
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            if scheme == "glorot_uniform":
                nn.init.xavier_uniform_(m.weight)
            else:
                nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and scheme == "normal_002":
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class Fp32Sigmoid(nn.Sigmoid):
    """D's probability in fp32 even under bf16 autocast: in bfloat16 (8 significant bits) a
    confident D's 0.998 is already 1.0, and the loss's log(1 - p) becomes -inf. In fp32 it is
    nn.Sigmoid exactly."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x.float())


def output_head(kind: str) -> list[nn.Module]:
    """D's last activation: a sigmoid for probability losses, nothing for score losses."""
    return [Fp32Sigmoid()] if kind == "sigmoid" else []


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(total, trainable) counted as Keras does: batch norm moving mean and variance are
    non-trainable parameters; torch's num_batches_tracked counter is not a parameter."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    stats = sum(b.numel() for name, b in module.named_buffers() if name.endswith(("running_mean", "running_var")))
    return trainable + frozen + stats, trainable
