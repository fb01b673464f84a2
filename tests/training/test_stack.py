"""Seed-batched training: each member is its separate run, up to floating-point rounding."""

import json

import pytest
import torch
from conftest import run_weights, same_weights, tiny, weight_gap
from torch import nn

from ganstudy.models.registry import build
from ganstudy.models.stacked import (
    STACKERS,
    NotStackable,
    layer_key,
    member_optimizer_state,
    member_state_dict,
    set_dropout_generators,
    stack,
    stack_optimizer_state,
)
from ganstudy.spec.layers import load_config
from ganstudy.spec.study import with_seed
from ganstudy.training.stack import stack_key, train_stack
from ganstudy.training.trainer import CHECKPOINT, train

ARCHS = [  # (overrides, image shape): every built-in architecture, with batch norm and dropout where it has them
    ([], (28, 28, 1)),
    (["model.d_batchnorm=true", "model.d_dropout=0.3", "model.g_dropout=0.2"], (28, 28, 1)),
    (["model.arch='dcgan'"], (32, 32, 3)),
    (["model.arch='keras-dcgan'"], (28, 28, 1)),
    (["model.arch='cits4404-dcgan'"], (32, 32, 3)),
]


def _members(overrides, shape, s=3):
    cfg = load_config(None, overrides)
    nets, dropout = [], []
    for seed in range(s):
        torch.manual_seed(seed)
        nets.append(build(cfg.model, shape, "sigmoid"))
        dropout.append(torch.Generator().set_state(torch.get_rng_state()))
    return cfg, nets, dropout


@pytest.mark.parametrize("overrides,shape", ARCHS)
def test_a_stacked_network_computes_each_member_and_its_gradients(overrides, shape):
    cfg, nets, dropout = _members(overrides, shape)
    g = stack([n[0] for n in nets])
    d = stack([n[1] for n in nets])
    streams = [torch.Generator().set_state(r.get_state()) for r in dropout]  # one per member, G's and D's draws
    set_dropout_generators(g, streams)
    set_dropout_generators(d, streams)
    z = torch.randn(3, 8, cfg.model.latent_dim)
    out = d(g(z))
    out.sum().backward()
    for i, (gi, di) in enumerate(nets):
        torch.set_rng_state(dropout[i].get_state())  # the member's own run draws dropout from the global stream
        alone = di(gi(z[i]))
        alone.sum().backward()
        assert torch.allclose(alone, out[i], atol=1e-5), i
        for net, batched in ((gi, g), (di, d)):
            grads = {name: p.grad for name, p in net.named_parameters()}
            stacked = {name: p.grad for name, p in batched.named_parameters()}
            # Relative to the network's largest gradient: a bias followed by batch norm has a gradient
            # that is zero in exact arithmetic, i.e. pure rounding noise.
            scale = max(grad.abs().max().item() for grad in grads.values())
            for name, grad in grads.items():
                mine = stacked[name][i].transpose(-1, -2) if stacked[name][i].shape != grad.shape else stacked[name][i]
                assert torch.allclose(mine, grad, rtol=1e-4, atol=1e-5 * scale), name
        # running statistics moved as the member's own did, and the state dict is the member's format
        for net, batched in ((gi, g), (di, d)):
            mine = member_state_dict(batched, i)
            assert mine.keys() == net.state_dict().keys()
            assert all(torch.allclose(mine[k].double(), v.double(), atol=1e-6) for k, v in net.state_dict().items())


def test_member_state_and_optimizer_state_round_trip_exactly():
    cfg, nets, _ = _members([], (28, 28, 1))
    gs = [n[0] for n in nets]
    opts = []
    for net in gs:  # a couple of real Adam steps so every moment is non-trivial
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
        for _ in range(2):
            opt.zero_grad()
            net(torch.randn(4, cfg.model.latent_dim)).square().mean().backward()
            opt.step()
        opts.append(opt)
    g = stack(gs)
    batched_opt = torch.optim.Adam(g.parameters(), lr=1e-3, fused=True)
    stack_optimizer_state(batched_opt, g, [o.state_dict() for o in opts])
    for i, (net, opt) in enumerate(zip(gs, opts)):
        assert same_weights(member_state_dict(g, i), net.state_dict())
        mine, theirs = member_optimizer_state(batched_opt, g, i), opt.state_dict()
        assert mine["param_groups"] == theirs["param_groups"]
        for k, slot in theirs["state"].items():
            assert all(torch.equal(mine["state"][k][key], value) for key, value in slot.items())


def test_an_unknown_layer_is_not_stackable(monkeypatch):
    _, nets, _ = _members([], (28, 28, 1), s=2)
    monkeypatch.delitem(STACKERS._items, layer_key(nn.Tanh))
    with pytest.raises(NotStackable, match="Tanh"):
        stack([n[0] for n in nets])


CASES = {  # each exercises a different path of the step
    "keras, BN in G": {},
    "pytorch, one D call on real+fake": {"train.step_style": "pytorch"},
    "dropout in both": {"model.d_dropout": 0.25, "model.g_dropout": 0.1},
    "wasserstein-gp": {"loss.kind": "wasserstein", "train.step_style": "pytorch", "train.d_steps": 2},
    "D learns in G step": {"train.d_learns_in_g_step": True, "optim.schedule": "cosine"},
    "dcgan": {"model.arch": "cits4404-dcgan", "model.g_channels": [16, 8], "model.d_channels": [8, 16],
              "model.g_batchnorm": [False, True], "model.d_batchnorm": False, "train.iterations": 6},
}


def _function(run_dir, cfg):
    """G on fixed noise (batch statistics) and D on fixed images, from a run's checkpoint."""
    from ganstudy.models.losses import get as get_loss

    ckpt = torch.load(run_dir / CHECKPOINT, weights_only=True)
    g, d = build(cfg.model, (28, 28, 1), get_loss(cfg.loss.kind).d_head)
    g.load_state_dict(ckpt["g"])
    d.load_state_dict(ckpt["d"])
    z = torch.randn(64, cfg.model.latent_dim, generator=torch.Generator().manual_seed(0))
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    torch.manual_seed(2)  # the same dropout masks for both runs compared
    with torch.no_grad():
        return g.train()(z), d.eval()(x)


@pytest.mark.parametrize("case", list(CASES))
def test_each_member_equals_its_separate_run(case, tmp_path):
    _members_are_their_runs([with_seed(tiny(**CASES[case]), seed) for seed in (0, 1, 2)], tmp_path)


@pytest.mark.parametrize("style", ["keras", "pytorch"])
def test_stacked_cases_each_equal_their_separate_run(tmp_path, style):
    """Cases that differ in learning rate, Adam's betas, schedule, data scaling and loss stack
    like seeds: each member keeps its own settings (its logged lr is its schedule's)."""
    cfgs = [with_seed(tiny(**{"train.step_style": style}), 0),
            with_seed(tiny(**{"optim.lr": 0.001, "loss.kind": "mse_sigmoid", "train.step_style": style}), 1),
            with_seed(tiny(**{"data.scale": "zero_one", "optim.schedule": "cosine", "optim.beta1": 0.9,
                              "loss.label_smoothing": 0.1, "train.step_style": style}), 2)]
    assert len({stack_key(c) for c in cfgs}) == 1
    _members_are_their_runs(cfgs, tmp_path)
    lrs = [[json.loads(line)["lr_g"] for line in (tmp_path / f"g{k}" / "metrics.jsonl").read_text().splitlines()]
           for k in range(3)]
    assert lrs[0][-1] == 2e-4 and lrs[1][-1] == 1e-3 and lrs[2][-1] < lrs[2][0]


def test_stacked_dropout_rates_each_equal_their_separate_run(tmp_path):
    """Cases that differ in dropout rate (every one with dropout layers) stack: each member
    draws its own masks at its own rate, as its separate run does."""
    cfgs = [with_seed(tiny(**{"model.d_dropout": 0.3, "model.g_dropout": 0.2}), 0),
            with_seed(tiny(**{"model.d_dropout": 0.1, "model.g_dropout": 0.5}), 1)]
    assert stack_key(cfgs[0]) == stack_key(cfgs[1]) != stack_key(tiny())  # no dropout layers: another network
    _members_are_their_runs(cfgs, tmp_path)


def _members_are_their_runs(cfgs, tmp_path):
    grouped = train_stack(cfgs, [tmp_path / f"g{c.train.seed}" for c in cfgs])
    for cfg, result in zip(cfgs, grouped):
        seed = cfg.train.seed
        alone = train(cfg, tmp_path / f"a{seed}")
        assert result.status == alone.status == "complete"
        # The same networks: the same function of their inputs, to 0.5% of the [-1, 1] output range
        # (a wrong member, mask or statistic is off by tenths). Not every weight to 1e-6: where
        # batch norm (nearly) cancels a direction, the gradient is rounding noise, and Adam
        # turns noise into steps of size lr whatever its size.
        mine, theirs = _function(tmp_path / f"g{seed}", cfg), _function(tmp_path / f"a{seed}", cfg)
        assert all(torch.allclose(a, b, atol=5e-3) for a, b in zip(mine, theirs))
        rows = [[json.loads(line) for line in (tmp_path / f"{w}{seed}" / "metrics.jsonl").read_text().splitlines()]
                for w in "ga"]
        assert [r["iteration"] for r in rows[0]] == [r["iteration"] for r in rows[1]]
        for mine, theirs in zip(*rows):
            assert mine["g_loss"] == pytest.approx(theirs["g_loss"], abs=1e-4)
            assert mine["d_acc"] == theirs["d_acc"]
        assert result.metrics["fid"] == pytest.approx(alone.metrics["fid"], rel=1e-3)
        files = sorted(p.relative_to(tmp_path / f"a{seed}").as_posix() for p in (tmp_path / f"a{seed}").rglob("*"))
        assert files == sorted(p.relative_to(tmp_path / f"g{seed}").as_posix() for p in (tmp_path / f"g{seed}").rglob("*"))
        saved = torch.load(tmp_path / f"g{seed}" / CHECKPOINT, weights_only=True)["opt_g"]["param_groups"][0]
        assert saved["lr"] == rows[0][-1]["lr_g"]  # its own learning rate, not the stack's list
        assert saved["betas"] == (cfg.optim.beta1, cfg.optim.beta2)
    # ... and the comparison can tell seeds apart: member 0 is not seed 1's run
    mine, other = _function(tmp_path / "g0", cfgs[0]), _function(tmp_path / "a1", cfgs[1])
    assert not torch.allclose(mine[0], other[0], atol=5e-3)


def test_a_resumed_group_with_a_diverged_member_finishes_the_others(tmp_path):
    cfgs = [with_seed(tiny(), seed) for seed in (0, 1)]
    dirs = [tmp_path / "m0", tmp_path / "m1"]
    reference = train_stack(cfgs, [tmp_path / "r0", tmp_path / "r1"])
    # Both members stopped at iteration 5 (a checkpoint); member 1's weights then turn to NaN.
    first = train_stack([with_seed(tiny(**{"train.iterations": 5}), s) for s in (0, 1)], dirs)
    assert [r.status for r in first] == ["complete", "complete"]
    for d in dirs:
        (d / "result.json").unlink()
        for name in ("config.json", "status.json"):
            (d / name).unlink()
    ckpt = torch.load(dirs[1] / CHECKPOINT, weights_only=True)
    ckpt["run_hash"] = cfgs[1].run_hash()
    for v in ckpt["g"].values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    torch.save(ckpt, dirs[1] / CHECKPOINT)
    ckpt = torch.load(dirs[0] / CHECKPOINT, weights_only=True)
    ckpt["run_hash"] = cfgs[0].run_hash()
    torch.save(ckpt, dirs[0] / CHECKPOINT)
    results = train_stack(cfgs, dirs)
    assert [r.status for r in results] == ["complete", "diverged"]
    assert "iteration 5" in results[1].reason
    assert reference[0].status == "complete"
    assert weight_gap(run_weights(dirs[0]), run_weights(tmp_path / "r0")) < 1e-5  # untouched by its NaN neighbour


def test_members_at_different_iterations_train_alone_or_in_the_largest_set(tmp_path):
    cfgs = [with_seed(tiny(), seed) for seed in (0, 1, 2)]
    dirs = [tmp_path / "m0", tmp_path / "m1", tmp_path / "m2"]
    trainer_seed0 = tmp_path / "m0"
    from ganstudy.training.trainer import Trainer

    t = Trainer(cfgs[0], trainer_seed0)
    t.progress = lambda done, total, row: setattr(t, "stop_requested", done == 7 or t.stop_requested)
    assert t.run().status == "interrupted"
    results = train_stack(cfgs, dirs)  # seed 0 at iteration 7 goes on alone; seeds 1 and 2 start together
    assert [r.status for r in results] == ["complete", "complete", "complete"]
    assert same_weights(run_weights(dirs[0]), run_weights(_alone(cfgs[0], tmp_path / "a0")))
    described = [json.loads((d / "config.json").read_text()) for d in dirs]
    assert described[0]["seed_batched_with"] is None
    assert described[1]["seed_batched_with"] == [described[2]["run_hash"]]
    reference = train_stack(cfgs[1:], [tmp_path / "r1", tmp_path / "r2"])
    assert [r.status for r in reference] == ["complete", "complete"]
    for seed in (1, 2):
        assert same_weights(run_weights(dirs[seed]), run_weights(tmp_path / f"r{seed}"))


def test_members_at_two_iterations_stack_in_two_sets_as_in_one(tmp_path):
    """Seeds 0 and 1 stopped together at iteration 5, seeds 2 and 3 not started: each pair
    stacks, and every run ends bit for bit as in one stack of four (a member's arithmetic does
    not depend on which members share its stack)."""
    import os
    import signal

    cfgs = [with_seed(tiny(), seed) for seed in range(4)]
    dirs = [tmp_path / f"m{seed}" for seed in range(4)]

    def ctrl_c_at_5(done, total, row):
        if done == 5:
            os.kill(os.getpid(), signal.SIGINT)

    assert [r.status for r in train_stack(cfgs[:2], dirs[:2], progress=[ctrl_c_at_5, None])] == ["interrupted"] * 2
    assert [r.status for r in train_stack(cfgs, dirs)] == ["complete"] * 4
    one = [tmp_path / f"one{seed}" for seed in range(4)]
    train_stack(cfgs, one)
    for mine, theirs in zip(dirs, one):
        assert same_weights(run_weights(mine), run_weights(theirs)), mine.name
    described = [json.loads((d / "config.json").read_text()) for d in dirs]
    assert described[2]["seed_batched_with"] == [described[3]["run_hash"]]


def _alone(cfg, folder):
    train(cfg, folder)
    return folder


def test_group_keys_ignore_only_what_members_may_differ_in():
    assert stack_key(with_seed(tiny(), 0)) == stack_key(with_seed(tiny(), 5))
    assert stack_key(tiny()) == stack_key(tiny(**{"optim.lr": 0.001, "data.scale": "zero_one"}))
    assert stack_key(tiny()) == stack_key(tiny(**{"loss.kind": "mse_sigmoid", "loss.clip_eps": 1e-5}))
    for other in ({"loss.kind": "mse"}, {"train.batch_size": 8}, {"model.g_batchnorm": False},
                  {"train.d_learns_in_g_step": True}, {"train.iterations": 7}, {"train.precision": "bf16"}):
        assert stack_key(tiny()) != stack_key(tiny(**other)), other  # mse: D has no sigmoid, another network
    critic = {"loss.kind": "wasserstein", "train.step_style": "pytorch"}  # a gradient penalty: its settings stay apart
    assert stack_key(tiny(**critic)) != stack_key(tiny(**critic, **{"loss.clip_eps": 1e-5}))
    assert tiny(**{"train.vectorize_seeds": False}).run_hash() == tiny().run_hash()  # execution, not the run
