"""ganstudy's Adam (optim.py): torch's fused kernel called directly, bit for bit torch's fused
Adam, interchangeable state dicts, per-member settings for stacked cases, no torch._dynamo."""

import subprocess
import sys

import pytest
import torch

from ganstudy.training.optim import FusedAdam


def _params(seed: int = 0, shapes=((3, 5), (7,), (2, 3, 4))):
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(*s, generator=g)) for s in shapes]


def _grads(params, k: int):
    g = torch.Generator().manual_seed(100 + k)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g)


def test_bit_for_bit_torch_fused_adam_and_state_dicts_interchange():
    mine, theirs = _params(), _params()
    opt = FusedAdam(mine, 2e-4, (0.5, 0.999), 1e-7)
    ref = torch.optim.Adam(theirs, lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=True)
    for k in range(5):
        for ps, o in ((mine, opt), (theirs, ref)):
            _grads(ps, k)
            o.step()
            o.zero_grad()
    for a, b in zip(mine, theirs):
        assert torch.equal(a, b)
    ours, torchs = opt.state_dict(), ref.state_dict()
    assert ours["param_groups"][0].keys() == torchs["param_groups"][0].keys()
    for i in torchs["state"]:
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(ours["state"][i][key], torchs["state"][i][key])
    # torch's state continues in ours and ours in torch's, identically
    cont_a, cont_b = [p.detach().clone().requires_grad_() for p in mine], [p.detach().clone().requires_grad_() for p in mine]
    a = FusedAdam(cont_a, 2e-4, (0.5, 0.999), 1e-7)
    a.load_state_dict(torchs)
    b = torch.optim.Adam(cont_b, lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=True)
    b.load_state_dict(ours)
    for o, ps in ((a, cont_a), (b, cont_b)):
        _grads(ps, 9)
        o.step()
    for x, y in zip(cont_a, cont_b):
        assert torch.equal(x, y)


def test_loading_keeps_its_own_betas_and_rejects_other_shapes():
    opt = FusedAdam(_params(), 1e-3, (0.9, 0.99), 1e-8)
    saved = torch.optim.Adam(_params(), lr=5.0, betas=(0.1, 0.2), fused=True)
    _grads(saved.param_groups[0]["params"], 0)
    saved.step()
    opt.load_state_dict(saved.state_dict())
    assert opt.param_groups[0]["lr"] == 5.0 and opt.param_groups[0]["betas"] == (0.9, 0.99)
    with pytest.raises(ValueError, match="parameters"):
        FusedAdam(_params(shapes=((3, 5),)), 1e-3, (0.9, 0.99), 1e-8).load_state_dict(saved.state_dict())
    with pytest.raises(ValueError, match="shape"):
        FusedAdam(_params(shapes=((3, 5), (7,), (2, 3, 5))), 1e-3, (0.9, 0.99), 1e-8).load_state_dict(saved.state_dict())


def test_members_with_their_own_settings_step_as_their_own_optimizers():
    """Three members stacked in each tensor, two sharing a learning rate: each member's slice
    after 4 steps is bit for bit what its own optimizer gives."""
    settings = [(1e-3, (0.5, 0.999), 1e-7), (2e-4, (0.5, 0.999), 1e-7), (1e-3, (0.5, 0.999), 1e-7)]
    alone = [_params(seed=i) for i in range(3)]
    stacked = [torch.nn.Parameter(torch.stack([alone[i][j].detach() for i in range(3)])) for j in range(3)]
    opts = [FusedAdam(alone[i], *settings[i]) for i in range(3)]
    together = FusedAdam(stacked, [s[0] for s in settings], [s[1] for s in settings], [s[2] for s in settings],
                         members=3)
    for k in range(4):
        for i in range(3):
            _grads(alone[i], 10 * k + i)
            opts[i].step()
        for j, p in enumerate(stacked):
            p.grad = torch.stack([alone[i][j].grad for i in range(3)])
        together.step()
    for i in range(3):
        for j in range(3):
            assert torch.equal(stacked[j][i], alone[i][j]), (i, j)
    with pytest.raises(ValueError, match="members"):
        FusedAdam(_params(), [1e-3, 2e-3], (0.5, 0.999), 1e-7)


def test_a_training_run_never_imports_torch_dynamo(tmp_path):
    """torch.optim pulls in torch._dynamo (over a second) on first use; ganstudy's runs must not."""
    code = ("import sys\nfrom ganstudy.spec.layers import load_config\nfrom ganstudy.training.trainer import train\n"
            f"cfg = load_config(None, ['data.dataset=mnist-mini', 'data.split=test', 'data.holdout=100', 'train.iterations=3', 'eval.samples=50', "
            f"'eval.reference_samples=50', 'eval.curve_points=0', 'model.g_widths=[16]', 'model.d_widths=[16]'])\n"
            f"train(cfg, {str(tmp_path / 'run')!r})\nassert 'torch._dynamo' not in sys.modules, 'torch._dynamo imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
