"""train.precision: bf16 autocast for the step's products, fp32 weights and Adam; a different
run (in the hash) that old fp32 runs keep their identity beside; plan says where it pays."""

from __future__ import annotations

import torch
from conftest import run_weights, tiny

from ganstudy.machine.precision import bf16_native, plan_line
from ganstudy.training.loop import autocast, real_batches
from ganstudy.training.steps import STEP_STYLES
from ganstudy.training.trainer import Trainer, train


def _dtypes_in_a_step(cfg, tmp_path) -> tuple[set[torch.dtype], set[torch.dtype]]:
    trainer = Trainer(cfg, tmp_path)
    trainer.prepare(resume=False)
    seen: set[torch.dtype] = set()
    hooks = [m.register_forward_hook(lambda mod, args, out: seen.add(out.dtype))
             for net in (trainer.state.g, trainer.state.d) for m in net.modules() if isinstance(m, torch.nn.Linear)]
    with autocast(cfg.train.precision, trainer.state.device):
        STEP_STYLES[cfg.train.step_style](trainer.state, real_batches([trainer.sampler], trainer.state))
    for h in hooks:
        h.remove()
    weights = {p.dtype for net in (trainer.state.g, trainer.state.d) for p in net.parameters()}
    weights |= {v.dtype for opt in (trainer.state.opt_g, trainer.state.opt_d) for st in opt.state.values()
                for v in st.values() if torch.is_tensor(v) and v.is_floating_point() and v.ndim}
    return seen, weights


def test_bf16_multiplies_in_bf16_and_keeps_weights_and_adam_in_fp32(tmp_path):
    products, weights = _dtypes_in_a_step(tiny(**{"train.precision": "bf16"}), tmp_path / "bf16")
    assert products == {torch.bfloat16} and weights == {torch.float32}
    products, weights = _dtypes_in_a_step(tiny(), tmp_path / "fp32")
    assert products == {torch.float32} and weights == {torch.float32}


def test_a_pass_under_bf16_computes_with_the_weights_as_updated_inside_the_step(tmp_path):
    """A keras-style step updates D, then trains D on its second batch and G through D, all in
    one autocast region: each pass must see D's weights as they are then, not the bf16 copy
    autocast's weight cache keeps from the region's first pass (bf16 worsened FID with it)."""
    trainer = Trainer(tiny(**{"train.precision": "bf16"}), tmp_path)
    trainer.prepare(resume=False)
    d_first = next(m for m in trainer.state.d.modules() if isinstance(m, torch.nn.Linear))
    probe = torch.randn(3, d_first.in_features)
    with autocast("bf16", trainer.state.device):
        before = d_first(probe)
        with torch.no_grad():
            d_first.weight.mul_(2.0)  # as D's Adam step does: in place, inside the region
        after = d_first(probe)
    with torch.no_grad():
        d_first.weight.div_(2.0)
        expected = torch.nn.functional.linear(probe.bfloat16(), 2 * d_first.weight.bfloat16(), d_first.bias.bfloat16())
    assert not torch.equal(before, after) and torch.equal(after, expected)


def test_bf16_runs_from_before_the_weight_cache_fix_are_not_reused():
    keys = tiny(**{"train.precision": "bf16"}).training_keys()
    assert keys["train.precision@revision"] == 2
    assert "train.precision@revision" not in tiny().training_keys()


def test_bf16_is_another_run_and_fp32_runs_keep_their_identity(tmp_path):
    assert tiny().run_hash() == tiny(**{"train.precision": "fp32"}).run_hash()  # runs from before the key
    assert tiny(**{"train.precision": "bf16"}).run_hash() != tiny().run_hash()
    a = train(tiny(**{"train.precision": "bf16"}), tmp_path / "bf16")
    b = train(tiny(), tmp_path / "fp32")
    assert a.status == b.status == "complete"
    gap = max((x - y).abs().max().item() for x, y in zip(run_weights(tmp_path / "bf16").values(),
                                                       run_weights(tmp_path / "fp32").values()))
    assert 0 < gap < 0.1  # other numbers, the same training


def test_plan_says_which_cases_train_in_bf16_and_whether_it_pays_here():
    assert plan_line({"baseline": "fp32", "a": "fp32"}).startswith("precision: fp32 for every case")
    line = plan_line({"baseline": "fp32", "a": "bf16"})
    native, why = bf16_native("cpu")
    assert line == f"precision: bf16 for a (the others fp32); {why}" + ("" if native else " (WARNING)")


def test_a_confident_discriminator_does_not_turn_bf16_into_nan(tmp_path):
    """In bfloat16 a sigmoid of 0.998 is 1.0 and log(1 - p) is -inf: D's probability and the
    losses stay fp32 (the quickstart in bf16 diverged at its first iteration without this)."""
    cfg = tiny(**{"train.precision": "bf16", "optim.lr": 0.02, "train.iterations": 40, "data.scale": "minus_one_one",
                  "model.g_widths": [128, 256], "model.d_widths": [256, 128], "train.batch_size": 32})
    result = train(cfg, tmp_path / "run")
    assert result.status == "complete", result.reason
