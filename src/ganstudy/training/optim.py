"""Adam as ganstudy steps it: torch's fused Adam kernel, called directly.

Why not ``torch.optim.Adam(fused=True)``: the arithmetic is the same kernel
(``torch._fused_adam_``, so runs are bit for bit those of torch's fused Adam, tested), but
``torch.optim.Optimizer`` imports ``torch._dynamo`` on its first use, 1.1-1.5 s of every
process (a tenth of a 1,000-iteration run; benchmarks/overheads.py), and its hyper-parameters
are one per parameter group, while stacked cases (:mod:`ganstudy.models.stacked`) need one per
member of a stacked tensor: member ``i`` of every parameter is the slice ``p[i]``, and the
kernel is called once per set of members that share their learning rate, betas and epsilon.

The state dict has ``torch.optim.Adam``'s format, so checkpoints written by either load in
the other. Loading keeps this optimizer's own hyper-parameters (they come from the run's
config); only the moments and step counts are taken from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..spec.config import RunConfig

_GROUP_FLAGS = {"weight_decay": 0, "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                "differentiable": False, "fused": True, "decoupled_weight_decay": False}


class FusedAdam:
    """Adam (no weight decay, no amsgrad) over ``params``. With ``members = S`` every parameter
    has a leading member dimension and ``lr``, ``betas`` and ``eps`` may be lists of S values
    (or one value for all); ``param_groups[0]["lr"]`` is then a list the trainer may reassign."""

    def __init__(self, params: Iterable[Tensor], lr: float | Sequence[float], betas: tuple[float, float] | Sequence[
                 tuple[float, float]], eps: float | Sequence[float], members: int | None = None) -> None:
        params = list(params)
        self.members = members
        if members is None and not isinstance(lr, (int, float)):
            raise ValueError("per-member learning rates need members=")
        self.param_groups: list[dict[str, Any]] = [{"params": params, "lr": lr, "betas": betas, "eps": eps}]
        self.state: dict[Tensor, dict[str, Tensor]] = {}

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.param_groups[0]["params"]:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def _slot(self, p: Tensor) -> dict[str, Tensor]:
        slot = self.state.get(p)
        if slot is None:  # as torch's fused Adam starts a parameter: a float32 step on its device
            slot = self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        return slot

    def _hyper(self, i: int | None) -> tuple[float, float, float, float]:
        """(lr, beta1, beta2, eps) of member ``i`` (None: of an unstacked optimizer). Each setting
        is one value for all members, or a list of one per member."""
        group = self.param_groups[0]
        lr, eps = (_member(group[key], i, scalar=True) for key in ("lr", "eps"))
        beta1, beta2 = _member(group["betas"], i, scalar=False)
        return float(lr), float(beta1), float(beta2), float(eps)

    @torch.no_grad()
    def step(self) -> None:
        params = [p for p in self.param_groups[0]["params"] if p.grad is not None]
        if not params:
            return
        slots = [self._slot(p) for p in params]
        steps = [s["step"] for s in slots]
        torch._foreach_add_(steps, 1)
        if self.members is None:
            self._kernel(params, [p.grad for p in params], slots, steps, self._hyper(None))
            return
        by_hyper: dict[tuple[float, float, float, float], list[int]] = {}
        for i in range(self.members):
            by_hyper.setdefault(self._hyper(i), []).append(i)
        for hyper, members in by_hyper.items():
            if len(members) == self.members:  # one setting for all: the whole tensors in one call
                self._kernel(params, [p.grad for p in params], slots, steps, hyper)
                continue
            # Member i's slice of each tensor is contiguous (the member dimension leads).
            self._kernel([p[i] for p in params for i in members], [p.grad[i] for p in params for i in members],
                         [{k: s[k][i] for k in ("exp_avg", "exp_avg_sq")} for s in slots for i in members],
                         [st for st in steps for _ in members], hyper)

    @staticmethod
    def _kernel(params: list[Tensor], grads: list[Tensor], slots: list[dict[str, Tensor]], steps: list[Tensor],
                hyper: tuple[float, float, float, float]) -> None:
        lr, beta1, beta2, eps = hyper
        torch._fused_adam_(params, grads, [s["exp_avg"] for s in slots], [s["exp_avg_sq"] for s in slots], [], steps,
                           amsgrad=False, lr=lr, beta1=beta1, beta2=beta2, weight_decay=0.0, eps=eps, maximize=False,
                           grad_scale=None, found_inf=None)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """``torch.optim.Adam``'s format: per-parameter state by index, then the group."""
        group = self.param_groups[0]
        params = group["params"]
        state = {i: dict(self.state[p]) for i, p in enumerate(params) if p in self.state}
        betas = group["betas"]
        return {"state": state, "param_groups": [{
            "lr": group["lr"], "betas": tuple(betas) if isinstance(betas[0], (int, float)) else [tuple(b) for b in betas],
            "eps": group["eps"], **_GROUP_FLAGS, "params": list(range(len(params)))}]}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Moments and step counts from ``saved`` (torch's Adam or this one), and the learning rate
        it was at (the trainer sets it again from the schedule at every iteration); the betas and
        epsilon stay this optimizer's own (the run's config: a fine-tune may change them)."""
        params = self.param_groups[0]["params"]
        groups = saved.get("param_groups") or [{}]
        lr = groups[0].get("lr")
        if self.members is None and isinstance(lr, (int, float)):
            self.param_groups[0]["lr"] = float(lr)
        count = sum(len(g.get("params", [])) for g in groups)
        if count != len(params):
            raise ValueError(f"the saved optimizer holds {count} parameters, this one {len(params)}")
        self.state = {}
        for index, slot in saved.get("state", {}).items():
            p = params[int(index)]
            if slot["exp_avg"].shape != p.shape:
                raise ValueError(f"parameter {index}: saved moments of shape {tuple(slot['exp_avg'].shape)}, "
                                 f"parameter of shape {tuple(p.shape)}")
            self.state[p] = {"step": slot["step"].to(device=p.device, dtype=torch.float32).clone(),
                             "exp_avg": slot["exp_avg"].to(device=p.device, dtype=p.dtype).clone(),
                             "exp_avg_sq": slot["exp_avg_sq"].to(device=p.device, dtype=p.dtype).clone()}


def _member(value: Any, i: int | None, scalar: bool) -> Any:
    """Member i's value of a setting given once for all (a number, or a betas pair) or per member."""
    shared = isinstance(value, (int, float)) if scalar else isinstance(value[0], (int, float))
    return value if i is None or shared else value[i]


def make_optimizers(cfg: RunConfig | Sequence[RunConfig], g: torch.nn.Module, d: torch.nn.Module) -> tuple[
        FusedAdam, FusedAdam, FusedAdam | None]:
    """G's and D's Adam, and D's second Adam when D also learns in the G step; for stacked
    networks (a list of the members' configs), each member with its own settings.

    Fused: one kernel updates every tensor of a network (the same Adam arithmetic; 5-6x
    faster than torch's default per-tensor loop for these models on a CPU, see benchmarks/),
    called without torch.optim's start-up cost (:mod:`ganstudy.training.optim`)."""
    cfgs = [cfg] if isinstance(cfg, RunConfig) else list(cfg)
    members = None if isinstance(cfg, RunConfig) else len(cfgs)

    def adam(params: Any, net: str) -> FusedAdam:
        lrs = [c.optim.base_lr(net) for c in cfgs]
        betas = [(c.optim.beta1, c.optim.beta2) for c in cfgs]
        eps = [c.optim.eps for c in cfgs]
        if members is None:
            return FusedAdam(params, lrs[0], betas[0], eps[0])
        return FusedAdam(params, lrs, betas, eps, members=members)

    opt_g, opt_d = adam(g.parameters(), "g"), adam(d.parameters(), "d")
    # Keras compiles the combined model with its own optimizer: D's steps there have their own moments.
    opt_dg = adam(d.parameters(), "g") if cfgs[0].train.d_learns_in_g_step else None
    return opt_g, opt_d, opt_dg
