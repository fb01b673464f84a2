"""What one run needs in memory, estimated before it trains: its two networks built on
PyTorch's ``meta`` device (shapes only, nothing allocated), their parameters with Adam's two
moments and the gradients, and the activations a training step keeps for backward at the
configured batch size. Preflight compares it with the machine's free memory, so that a typo
(``train.batch_size = 60000``, a width with three zeros too many) is one paragraph before
training instead of an allocation that takes the machine down.

It is an estimate, calibrated on the high side: a real step's peak (measured in a process of
its own, ``tests/models/test_footprint.py``) was 0.64 to 0.95 of it on a CPU, from a model
whose weights dominate to one whose activations do; the test holds it between half the
estimate and a quarter more. That is enough to catch a size off by orders of magnitude. It is
one run's: runs trained at once (workers, a stacked group's members) each need theirs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

FLOAT_BYTES = 4
#: Per parameter: the weight, its gradient, Adam's two moments, and the temporaries of Adam's
#: update (measured: 4.5 to 5 copies at the peak).
PARAMETER_COPIES = 5
#: Per activation counted below (every leaf module's output, D's for its three batches): the
#: peak holds about 0.6 to 0.7 of them at once, since in-place activations and freed outputs
#: share memory; one copy is a bound on the high side.
ACTIVATION_COPIES = 1
#: What a process's first steps load beyond its imports (kernels, the allocator's pools):
#: measured 80 to 140 MiB on a CPU. The interpreter and torch themselves are not counted.
RUNTIME_BYTES = 128 * 2**20


@dataclass(frozen=True)
class Footprint:
    parameters: int  # of G and D together
    activations: int  # floats one step keeps at once

    @property
    def bytes(self) -> int:
        return RUNTIME_BYTES + FLOAT_BYTES * (PARAMETER_COPIES * self.parameters + ACTIVATION_COPIES * self.activations)


def _outputs(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The net's output on ``x`` and the floats every leaf module's output holds."""
    counted = [0]

    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            counted[0] += output.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        for handle in handles:
            handle.remove()
    return out, counted[0]


def footprint(model_cfg, shape: tuple[int, int, int], d_head: str, batch: int) -> Footprint:
    """One run's parameters and step activations (``shape`` is (H, W, C) as ``build`` takes it)."""
    from .registry import get

    with torch.device("meta"):
        g, d = get(model_cfg.arch).build(model_cfg, shape, d_head)
        z = torch.empty(batch, model_cfg.latent_dim)
        fake, in_g = _outputs(g, z)
        _, in_d = _outputs(d, fake)
    parameters = sum(p.numel() for net in (g, d) for p in net.parameters())
    return Footprint(parameters, in_g + 2 * in_d + 2 * fake.numel())


def human(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"
