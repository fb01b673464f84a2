"""Generator and discriminator architectures (see :mod:`.registry`), and the noise they start from."""

import torch

from .layers import count_parameters
from .registry import build, get, names

__all__ = ["build", "get", "names", "count_parameters", "latent"]


def latent(model_cfg, n: int, generator: torch.Generator) -> torch.Tensor:  # noqa: ANN001 - a ModelConfig
    """z for ``n`` images from ``generator``: N(0, 1), or U(-1, 1) with ``model.noise = "uniform"``
    (the CITS4404 notebook). Training, sample grids and evaluation all draw it this way."""
    if model_cfg.noise == "uniform":
        return torch.rand(n, model_cfg.latent_dim, generator=generator) * 2 - 1
    return torch.randn(n, model_cfg.latent_dim, generator=generator)
