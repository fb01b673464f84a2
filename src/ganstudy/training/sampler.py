"""Where a run's real batches come from: Keras-GAN's random indices with replacement, or
shuffled epochs, drawn from the run's own training stream; for stacked runs, every
member's batch (each scaled by its own ``data.scale``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch

from ..base.errors import GanstudyError
from ..data.prepare import scale
from ..spec.config import RunConfig
from .steps import GanState


def derive_seed(seed: int, *purpose: object) -> int:
    """A 63-bit seed for one purpose, so streams never overlap or depend on each other."""
    text = ":".join(str(p) for p in (seed, *purpose))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


class Sampler:
    """Real batches: Keras-GAN's random indices with replacement, or shuffled real epochs."""

    def __init__(self, images: torch.Tensor, cfg: RunConfig, rng: torch.Generator, device: torch.device,
                 channels_last: bool = False) -> None:
        self.images, self.cfg, self.rng, self.device = images, cfg, rng, device
        self.channels_last = channels_last
        self.n = images.shape[0]
        self.batch = cfg.train.batch_size
        if cfg.train.epochs and self.n < self.batch:
            raise GanstudyError(f"train.batch_size = {self.batch} is larger than the {self.n} training images.")
        self.per_epoch = max(self.n // self.batch, 1)
        self.iteration = 0
        self._perm: tuple[int, torch.Tensor] | None = None

    def total_iterations(self) -> int:
        t = self.cfg.train
        return t.epochs * self.per_epoch if t.epochs else int(t.iterations)  # type: ignore[arg-type]

    def __call__(self) -> torch.Tensor:
        if self.cfg.train.epochs:
            epoch, j = divmod(self.iteration, self.per_epoch)
            if self._perm is None or self._perm[0] != epoch:
                g = torch.Generator().manual_seed(derive_seed(self.cfg.train.seed, "epoch", epoch))
                self._perm = (epoch, torch.randperm(self.n, generator=g))
            idx = self._perm[1][j * self.batch : (j + 1) * self.batch]
        else:
            idx = torch.randint(0, self.n, (self.batch,), generator=self.rng)
        batch = self.images[idx.to(self.images.device)]
        batch = scale(batch, self.cfg.data.scale).to(self.device, non_blocking=True)
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch


def real_batches(samplers: list[Sampler], state: GanState) -> Callable[[], torch.Tensor]:
    """Where a step draws real images: the run's sampler, or every member's stacked (S, N, ...)."""
    if state.members is None:
        return samplers[0]
    return lambda: torch.stack([sample() for sample in samplers])
