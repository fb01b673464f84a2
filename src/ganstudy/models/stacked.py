"""Seed-batched networks: S copies of one architecture, each with its own weights, trained
as one model on tensors shaped (S, N, ...).

``stack([net_0, ..., net_S-1])`` builds the batched network from S ordinary networks built
exactly as their separate runs build them (same seeds, same initialisation), so member i
starts as run i starts. Each leaf layer is replaced by its stacked counterpart from a
registry (:data:`STACKERS`); containers and the model classes' own ``forward`` are kept, so
their forward code must not assume the batch is the first dimension (ours use
``unflatten(-1, ...)``). Parameters keep their names with a leading member dimension, so
member i's ``state_dict`` (and Adam moments) come out in the format a separate run saves
(:func:`member_state_dict`, :func:`member_optimizer_state`) and a run folder written by a
member is an ordinary run folder.

Why these layouts: a dense layer's weights are stored (S, in, out) because ``bmm`` with the
weight in that orientation is about 1.4x faster on CPU than with torch's (out, in) transposed
(measured on the Keras-GAN MLP); convolutions become grouped convolutions (one group per
member) and feature maps stay in the grouped layout (N, S*C, H, W) from layer to layer, so
batch norm keeps every member's statistics apart with no copies. The network's output is
member-first again (a forward hook).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.errors import GanstudyError
from ..base.registry import Registry
from .layers import Fp32Sigmoid


class NotStackable(GanstudyError):
    """A network with a layer that has no seed-batched counterpart: its seeds train separately."""


class StackedLeaf(nn.Module):
    """A layer holding S members' parameters, each with a leading member dimension.

    ``transposed`` names the tensors stored with their last two dimensions swapped relative
    to the member layer (for faster batched matrix multiplies)."""

    transposed: frozenset[str] = frozenset()

    def to_member(self, name: str, value: Tensor) -> Tensor:
        return value.transpose(-1, -2).contiguous() if name in self.transposed else value.clone()

    def from_members(self, name: str, values: Sequence[Tensor]) -> Tensor:
        values = [v.transpose(-1, -2) if name in self.transposed else v for v in values]
        return torch.stack(values).contiguous()

    def _take(self, members: Sequence[nn.Module]) -> None:
        """Register every parameter and buffer of the members, stacked, under the same names."""
        first = members[0]
        for name, value in first.named_parameters(recurse=False):
            self.register_parameter(name, nn.Parameter(
                self.from_members(name, [m.get_parameter(name).detach() for m in members]), value.requires_grad))
        for name, _ in first.named_buffers(recurse=False):
            self.register_buffer(name, self.from_members(name, [m.get_buffer(name) for m in members]))


def _to_groups(x: Tensor) -> Tensor:
    """(S, N, C, ...) -> (N, S*C, ...): members side by side in the channel dimension."""
    s, n = x.shape[:2]
    return x.transpose(0, 1).reshape(n, s * x.shape[2], *x.shape[3:])


def _from_groups(y: Tensor, s: int) -> Tensor:
    n = y.shape[0]
    return y.reshape(n, s, y.shape[1] // s, *y.shape[2:]).transpose(0, 1)


def _grouped(x: Tensor) -> Tensor:
    """Feature maps in the grouped layout. Between convolutional layers they stay grouped,
    (N, S*C, H, W), a 4-d tensor; the member-first layout of images is 5-d, (S, N, C, H, W),
    so the number of dimensions says which one a tensor is in."""
    return _to_groups(x) if x.ndim == 5 else x


class StackedLinear(StackedLeaf):
    transposed = frozenset({"weight"})

    def __init__(self, members: Sequence[nn.Linear]) -> None:
        super().__init__()
        self._take(members)

    def forward(self, x: Tensor) -> Tensor:  # (S, N, in) -> (S, N, out)
        if self.bias is None:
            return torch.bmm(x, self.weight)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)


class StackedBatchNorm(StackedLeaf):
    """Batch norm with each member's own statistics and moving averages (torch semantics,
    including ``momentum``, which the training step sets to 0 to freeze the averages)."""

    mixes_samples = True

    def __init__(self, members: Sequence[nn.modules.batchnorm._BatchNorm]) -> None:
        super().__init__()
        first = members[0]
        self.members, self.eps, self.momentum = len(members), first.eps, first.momentum
        if first.momentum is None or not first.track_running_stats or not first.affine:
            raise NotStackable("batch norm without affine parameters, running statistics or a momentum")
        self._take(members)

    def forward(self, x: Tensor) -> Tensor:  # dense (S, N, C); maps (S, N, C, H, W) or grouped (N, S*C, H, W)
        if self.training:
            self.num_batches_tracked.add_(1)
        dense = x.ndim == 3
        y = F.batch_norm(_to_groups(x) if dense else _grouped(x), self.running_mean.view(-1),
                         self.running_var.view(-1), self.weight.view(-1), self.bias.view(-1),
                         self.training, self.momentum, self.eps)
        return _from_groups(y, self.members) if dense else y


class StackedConv(StackedLeaf):
    """Conv2d or ConvTranspose2d as a grouped convolution: member i is group i."""

    def __init__(self, members: Sequence[nn.Conv2d | nn.ConvTranspose2d]) -> None:
        super().__init__()
        first = members[0]
        if first.groups != 1 or first.padding_mode != "zeros":
            raise NotStackable("grouped or non-zero-padded convolutions")
        self.members, self.upsamples = len(members), isinstance(first, nn.ConvTranspose2d)
        self.args = dict(stride=first.stride, padding=first.padding, dilation=first.dilation, groups=len(members))
        if self.upsamples:
            self.args["output_padding"] = first.output_padding
        self._take(members)

    def forward(self, x: Tensor) -> Tensor:  # (S, N, C, H, W) or grouped -> grouped (N, S*C', H', W')
        weight = self.weight.flatten(0, 1)  # grouped layout: members one after another
        bias = self.bias.flatten() if self.bias is not None else None
        conv = F.conv_transpose2d if self.upsamples else F.conv2d
        return conv(_grouped(x), weight, bias, **self.args)


class StackedDropout(nn.Module):
    """Dropout whose masks come from each member's own generator, drawn as torch's CPU
    dropout draws them (``bernoulli_(1 - p)``, scaled by ``1 / (1 - p)``), so a member draws
    the masks its separate run draws from the global generator. Each member has its own
    rate (stacked cases may differ in it)."""

    mixes_samples = True  # not across samples, but its draws depend on the batch's layout

    def __init__(self, members: Sequence[nn.Dropout]) -> None:
        super().__init__()
        self.p, self.members = [m.p for m in members], len(members)
        self.generators: list[torch.Generator] | None = None  # set by the trainer

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not any(self.p):
            return x
        if self.generators is None or len(self.generators) != self.members:
            raise RuntimeError("StackedDropout needs one generator per member (set_dropout_generators)")
        grouped = x.ndim == 4  # (N, S*C, H, W): member i's maps are channels i*C..(i+1)*C
        shape = (x.shape[0], x.shape[1] // self.members, *x.shape[2:]) if grouped else x.shape[1:]
        # Each mask drawn in the member's own layout, as its run draws it, and scaled by its own 1 / (1 - p).
        masks = [torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - p, generator=g).div_(1.0 - p)
                 for p, g in zip(self.p, self.generators)]
        noise = torch.stack(masks, 1).view_as(x) if grouped else torch.stack(masks)
        return x * noise


class StackedFlatten(nn.Module):
    def __init__(self, members: Sequence[nn.Flatten]) -> None:
        super().__init__()
        self.members = len(members)
        if members[0].start_dim != 1 or members[0].end_dim != -1:
            raise NotStackable("Flatten other than Flatten(1, -1)")

    def forward(self, x: Tensor) -> Tensor:  # -> (S, N, features)
        return (_from_groups(x, self.members) if x.ndim == 4 else x).flatten(2)


class StackedUpsample(nn.Module):
    def __init__(self, members: Sequence[nn.Upsample]) -> None:
        super().__init__()
        self.inner = copy.deepcopy(members[0])

    def forward(self, x: Tensor) -> Tensor:  # -> grouped; per channel, so the layout is free to choose
        return self.inner(_grouped(x))


def _shared(members: Sequence[nn.Module]) -> nn.Module:
    """Element-wise layers without parameters work on (S, N, ...) as they are."""
    return copy.deepcopy(members[0])


#: Leaf layer class (``module.QualName``) -> builder of its stacked counterpart from the S member layers.
STACKERS: Registry[Callable[[Sequence[Any]], nn.Module]] = Registry("stackable layer")


def layer_key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type, builder: Callable[[Sequence[Any]], nn.Module]) -> None:
    """Teach seed-batching a new layer type (e.g. one a registered architecture uses)."""
    STACKERS.register(layer_key(cls), builder)


for _cls in (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.Tanh, nn.Sigmoid, Fp32Sigmoid, nn.Identity):
    register(_cls, _shared)
register(nn.Linear, StackedLinear)
register(nn.BatchNorm1d, StackedBatchNorm)
register(nn.BatchNorm2d, StackedBatchNorm)
register(nn.Conv2d, StackedConv)
register(nn.ConvTranspose2d, StackedConv)
register(nn.Dropout, StackedDropout)
register(nn.Flatten, StackedFlatten)
register(nn.Upsample, StackedUpsample)


def stack(members: Sequence[nn.Module]) -> nn.Module:
    """One network computing all ``members`` (same architecture) on (S, N, ...) inputs."""
    batched = copy.deepcopy(members[0])
    _replace_leaves(batched, members, "")
    s = len(members)
    # Feature maps stay grouped from layer to layer; what leaves the network is member-first.
    batched.register_forward_hook(lambda module, args, out: _from_groups(out, s) if out.ndim == 4 else out)
    return batched


def _replace_leaves(parent: nn.Module, members: Sequence[nn.Module], prefix: str) -> None:
    for name, child in list(parent.named_children()):
        here = [m.get_submodule(f"{prefix}{name}") for m in members]
        if len(list(child.children())) > 0:
            _replace_leaves(child, members, f"{prefix}{name}.")
            continue
        kind = layer_key(type(child))
        if kind not in STACKERS.names():
            raise NotStackable(f"layer {prefix}{name} ({type(child).__name__}) has no seed-batched version")
        setattr(parent, name, STACKERS.get(kind)(here))
    own = list(parent.named_parameters(recurse=False)) + list(parent.named_buffers(recurse=False))
    if own:
        raise NotStackable(f"{type(parent).__name__} holds parameters outside its layers ({own[0][0]})")


def _owners(batched: nn.Module) -> dict[str, tuple[StackedLeaf, str]]:
    """Full parameter or buffer name -> (the stacked layer that holds it, its own name there)."""
    owners: dict[str, tuple[StackedLeaf, str]] = {}
    for prefix, module in batched.named_modules():
        if isinstance(module, StackedLeaf):
            for name, _ in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
                owners[f"{prefix}.{name}" if prefix else name] = (module, name)
    return owners


def member_state_dict(batched: nn.Module, i: int) -> dict[str, Tensor]:
    """Member ``i``'s state dict, in its separate network's format."""
    owners = _owners(batched)
    return {key: owners[key][0].to_member(owners[key][1], value[i]) for key, value in batched.state_dict().items()}


def set_dropout_generators(batched: nn.Module, generators: list[torch.Generator]) -> None:
    for m in batched.modules():
        if isinstance(m, StackedDropout):
            m.generators = generators


def stack_optimizer_state(opt: torch.optim.Optimizer, batched: nn.Module, states: Sequence[dict[str, Any]]) -> None:
    """Load the members' optimizer state dicts (same optimizer, same step count) into ``opt``
    over the stacked parameters. Members with no state yet (a fresh run) load nothing."""
    if not states[0]["state"]:
        return
    owners, names = _owners(batched), [n for n, _ in batched.named_parameters()]
    merged: dict[int, dict[str, Any]] = {}
    for index, name in enumerate(names):
        layer, own = owners[name]
        slots = [s["state"][index] for s in states]
        merged[index] = {key: (slots[0][key].clone() if key == "step"
                               else layer.from_members(own, [slot[key] for slot in slots]))
                         for key in slots[0]}
    opt.load_state_dict({"state": merged, "param_groups": states[0]["param_groups"]})


def member_optimizer_state(opt: torch.optim.Optimizer, batched: nn.Module, i: int) -> dict[str, Any]:
    """Member ``i``'s slice of an optimizer over stacked parameters, as its own optimizer's state dict."""
    full = opt.state_dict()
    owners, names = _owners(batched), [n for n, _ in batched.named_parameters()]
    state = {}
    for index, slot in full["state"].items():
        layer, own = owners[names[index]]
        state[index] = {key: (value.clone() if key == "step" else layer.to_member(own, value[i]))
                        for key, value in slot.items()}
    groups = copy.deepcopy(full["param_groups"])
    for group in groups:  # stacked cases: each member's own settings
        for key in ("lr", "betas", "eps"):
            if isinstance(group[key], list):
                group[key] = group[key][i]
    return {"state": state, "param_groups": groups}
