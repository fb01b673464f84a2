"""Stacked training: S runs trained as one batched model (the seeds of one configuration,
and configurations that differ only in MEMBER_KEYS: learning rates, Adam settings,
schedule, data scaling, loss).

Each member is an ordinary run with its own folder: it is built, initialised and resumed
exactly as it would be alone (its own weights, Adam moments and settings, batch norm
statistics, loss, training stream and dropout stream), then the members' networks are
stacked (:mod:`ganstudy.models.stacked`) and stepped together by the same step code. Logs,
grids, checkpoints and scores are written per member from its own slice of the batched
state, so the store, resume, evaluation and reports see separate runs. A member equals
its separate run up to floating-point reassociation (tests/training/test_stack.py), and on a
CPU it does not depend on which other members share its stack.

When the members cannot step together (a layer without a batched version) they train one
after another, alone; members resumed from checkpoints at different iterations stack in
one set per iteration (a set of one trains alone).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ..base.atomic import write_json
from ..base.errors import GanstudyError
from ..models.losses import MemberLosses
from ..models.stacked import (
    NotStackable,
    member_optimizer_state,
    member_state_dict,
    set_dropout_generators,
    stack,
    stack_optimizer_state,
)
from ..spec.config import RunConfig
from .checkpoints import reconcile
from .loop import Start, run_loop, stop_on_ctrl_c
from .optim import make_optimizers
from .runfolder import RunResult
from .scoring import load_resources
from .steps import GanState
from .trainer import CorruptRun, Progress, Trainer

#: Keys in which the members of one stacked model may differ. Each member keeps its own value:
#: its seed's streams, its Adam's learning rates, betas and epsilon (optim.py steps each
#: member's slice with its own), its schedule, its data's scaling (each member samples its
#: own batches), its loss (losses.MemberLosses: any loss with the same D head, without a
#: gradient penalty) and its dropout rates (where every member has dropout layers: a rate of 0
#: builds none). Everything else (networks, step, batch size, iterations) is shared, so the
#: members step as one model. Seeds of one case and cases that differ only here (a
#: learning-rate change, a schedule, an L2 loss, a sweep of lr or of dropout) stack alike.
MEMBER_KEYS = ("train.seed", "optim.lr", "optim.lr_g", "optim.lr_d", "optim.beta1", "optim.beta2", "optim.eps",
               "optim.schedule", "optim.milestones", "optim.milestone_unit", "optim.values", "optim.milestone_after",
               "optim.gamma", "optim.min_factor", "data.scale", "loss.kind", "loss.label_smoothing", "loss.clip_eps")


def stack_key(cfg: RunConfig) -> str:
    """Runs with the same key can train as members of one stacked model: the seeds of a
    configuration, and configurations that differ only in MEMBER_KEYS (losses only where
    they give D the same head and none has a gradient penalty)."""
    from ..models.losses import get as get_loss

    tree = cfg.model_dump(mode="json")
    loss = get_loss(cfg.loss.kind)
    for key in MEMBER_KEYS:
        section, name = key.split(".")
        if section == "loss" and loss.gradient_penalty:
            continue  # the penalty's arithmetic is shared: the loss's settings stay in the key
        tree[section].pop(name, None)
    tree["loss"]["d_head"] = loss.d_head
    for net in ("g", "d"):  # a dropout rate is a member's own; whether there are dropout layers is the network's
        rate = tree["model"].pop(f"{net}_dropout", None) or 0.0
        tree["model"][f"{net}_has_dropout"] = rate > 0
    return json.dumps(tree, sort_keys=True)


def batching_pays(cfg: RunConfig, device: str = "auto") -> bool:
    """Does seed batching speed this configuration up here? Dense networks: yes (five seeds on a
    2-core CPU: 1.25-1.3x the seed-iterations/s of one run in one process, 1.16-1.32x with
    --workers 2; benchmarks/training_speed.py). Convolutional ones on a CPU:
    no, grouped convolutions are no faster than one convolution per seed there (DCGAN 227 vs
    220 ms per seed-iteration, Keras-GAN's DCGAN 488 vs 368), so their seeds train alone;
    on a GPU they batch."""
    from ..machine.cores import resolve_device
    from ..models.registry import get as get_arch

    if not cfg.train.stack:
        return False
    if get_arch(cfg.model.arch).kind == "mlp":
        return True
    try:
        return resolve_device(device).type == "cuda"
    except GanstudyError:
        return False


def train_stack(cfgs: Sequence[RunConfig], dirs: Sequence[str | Path], *, data_root: str | Path | None = None,
                     device: str = "auto", progress: Sequence[Progress | None] | None = None,
                     track: Sequence[dict | None] | None = None,
                     should_stop: Callable[[], bool] | None = None) -> list[RunResult]:
    """Train (or resume, or just collect) the runs ``cfgs[i]`` in ``dirs[i]``, seed-batched."""
    keys = {stack_key(c) for c in cfgs}
    if len(keys) != 1:
        raise ValueError(f"a stacked group's configs must differ only in {', '.join(MEMBER_KEYS)} "
                         "and in dropout rates above 0")
    progress = list(progress) if progress is not None else [None] * len(cfgs)
    resources = load_resources(cfgs[0], data_root)  # the images and scoring set-up: data.scale acts when sampling

    def trainer(i: int) -> Trainer:
        return Trainer(cfgs[i], dirs[i], data_root=data_root, device=device, progress=progress[i], resources=resources,
                       track=track[i] if track else None, should_stop=should_stop)

    reconcile(dirs)  # a kill between two members' checkpoints: back to the last iteration all hold
    results: list[RunResult | None] = [None] * len(cfgs)
    members: list[tuple[int, Trainer, Start]] = []
    for i in range(len(cfgs)):
        run = trainer(i)
        try:
            where = run.prepare(resume=True, own_dropout_stream=True)
        except CorruptRun:  # a damaged or foreign checkpoint cannot be continued: redo the run
            shutil.rmtree(dirs[i])
            run = trainer(i)
            where = run.prepare(resume=True, own_dropout_stream=True)
        if isinstance(where, RunResult):
            results[i] = where
        else:
            members.append((i, run, where))

    # Members standing at the same iteration step together, one stacked set per iteration (a
    # run interrupted alone, a kill between two members' checkpoints); a set of one, or one
    # whose layers cannot stack, continues alone. A member's arithmetic does not depend on
    # which other members share its stack, so how the members are split changes no result.
    by_start: dict[int, list[tuple[int, Trainer, Start]]] = {}
    for member in members:
        by_start.setdefault(member[2].iteration, []).append(member)
    stacks = []
    for together in by_start.values():
        batched = batched_state([run for _, run, _ in together]) if len(together) > 1 else None
        if batched is None:
            for i, _, _ in together:
                results[i] = trainer(i).run(resume=True)
        else:
            stacks.append((together, batched))
    for together, batched in stacks:
        for (i, run, _), result in zip(together, _train_stacked(together, batched)):
            results[i] = result
    return results  # type: ignore[return-value]


def _train_stacked(members: list[tuple[int, Trainer, Start]], batched: GanState) -> list[RunResult]:
    runs = [run for _, run, _ in members]
    for run in runs:  # provenance: which runs trained together
        run.stacked_with = [r.run_hash for r in runs if r is not run]
        write_json(run.dir / "config.json", run.describe())

    def sync(k: int) -> None:
        own = runs[k].state
        own.g.load_state_dict(member_state_dict(batched.g, k))
        own.d.load_state_dict(member_state_dict(batched.d, k))
        for mine, theirs, net in ((own.opt_g, batched.opt_g, batched.g), (own.opt_d, batched.opt_d, batched.d),
                                  (own.opt_dg, batched.opt_dg, batched.d)):
            if mine is not None:
                mine.load_state_dict(member_optimizer_state(theirs, net, k))

    with stop_on_ctrl_c(runs):
        ended = run_loop(runs, batched, [start for _, _, start in members], sync)
    for run, result in zip(runs, ended):
        run.finish(result)
    return ended


def batched_state(runs: list[Trainer]) -> GanState | None:
    """The built runs' networks and optimizers stacked into one state, or None if a layer cannot be.
    (The runs must be built with ``own_dropout_stream``.)"""
    states = [run.state for run in runs]
    try:
        g = stack([s.g for s in states])
        d = stack([s.d for s in states])
    except NotStackable:
        return None
    dropout = [run.dropout_rng for run in runs]
    set_dropout_generators(g, dropout)  # type: ignore[arg-type]
    set_dropout_generators(d, dropout)  # type: ignore[arg-type]
    first = states[0]
    opt_g, opt_d, opt_dg = make_optimizers([s.cfg for s in states], g, d)
    stack_optimizer_state(opt_g, g, [s.opt_g.state_dict() for s in states])
    stack_optimizer_state(opt_d, d, [s.opt_d.state_dict() for s in states])
    if opt_dg is not None:
        stack_optimizer_state(opt_dg, d, [s.opt_dg.state_dict() for s in states])  # type: ignore[union-attr]
    same_loss = all(s.cfg.loss == first.cfg.loss for s in states)
    loss = first.loss if same_loss else MemberLosses([s.cfg.loss for s in states])
    return GanState(first.cfg, g, d, opt_g, opt_d, opt_dg, loss, [s.rng for s in states], first.device,
                    members=len(states))
