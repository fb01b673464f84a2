import pytest
import torch
from torch import nn

from ganstudy.base.errors import ConfigError
from ganstudy.models.layers import count_parameters
from ganstudy.models.losses import get as get_loss
from ganstudy.models.registry import build
from ganstudy.spec.layers import load_config


def _build(*overrides, shape=(28, 28, 1)):
    cfg = load_config(None, list(overrides))
    return build(cfg.model, shape, get_loss(cfg.loss.kind).d_head)


def test_keras_gan_parameter_counts():
    g, d = _build()
    assert count_parameters(g) == (1_493_520, 1_489_936)
    assert count_parameters(d) == (533_505, 533_505)


def test_doubled_widths_parameter_counts():
    g, d = _build("model.g_widths=[512, 1024, 2048]", "model.d_widths=[1024, 512]")
    assert count_parameters(g)[0] == 4_296_976
    assert count_parameters(d)[0] == 1_329_153


def test_keras_layer_order_and_batchnorm_semantics():
    g, d = _build()
    kinds = [type(m).__name__ for m in g.net]
    assert kinds == ["Linear", "LeakyReLU", "BatchNorm1d"] * 3 + ["Linear", "Tanh"]
    bn = g.net[2]
    assert bn.momentum == pytest.approx(0.2) and bn.eps == 1e-3  # Keras momentum 0.8, eps 1e-3
    assert g.net[1].negative_slope == 0.2
    assert isinstance(d.net[-1], nn.Sigmoid)


def test_glorot_uniform_init_and_zero_bias():
    torch.manual_seed(0)
    g, _ = _build()
    first = g.net[0]
    limit = (6 / (100 + 256)) ** 0.5
    assert first.weight.abs().max() <= limit and first.weight.abs().max() > 0.9 * limit
    assert torch.count_nonzero(first.bias) == 0


def test_batchnorm_off_means_no_batchnorm_module():
    g, d = _build("model.g_batchnorm=false")
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in g.modules())
    g, d = _build("model.d_batchnorm=[true, false]")
    assert sum(isinstance(m, nn.BatchNorm1d) for m in d.modules()) == 1
    assert isinstance(d.net[3], nn.BatchNorm1d)  # Flatten, Linear, LeakyReLU, BN: on D's input layer


def test_mse_and_score_losses_have_no_sigmoid():
    for kind in ("mse", "hinge", "wasserstein"):
        _, d = _build(f"loss.kind={kind}")
        assert not any(isinstance(m, nn.Sigmoid) for m in d.modules()), kind


def test_dropout_and_activation_knobs():
    g, d = _build("model.d_dropout=0.25", "model.g_activation=relu")
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.25 for m in d.modules()) == 2
    assert sum(isinstance(m, nn.ReLU) for m in g.modules()) == 3


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "keras-dcgan", "cits4404-dcgan"])
@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (32, 32, 1), (28, 28, 3)])
def test_every_architecture_makes_and_scores_images(arch, shape):
    if arch == "cits4404-dcgan" and shape[0] == 28:
        with pytest.raises(ConfigError, match="not divisible by 8"):
            _build(f"model.arch={arch}", shape=shape)
        return
    g, d = _build(f"model.arch={arch}", shape=shape)
    x = g(torch.randn(4, 100))
    assert x.shape == (4, shape[2], *shape[:2]) and x.abs().max() <= 1
    assert d(x).shape == (4, 1)


def test_dcgan_paper_defaults():
    g, d = _build("model.arch=dcgan", shape=(32, 32, 3))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(4, 4)] * 3 and [c.stride for c in convs] == [(2, 2)] * 3
    # No BN on D's input layer: the first conv is followed directly by LeakyReLU.
    assert isinstance(d.net[1], nn.LeakyReLU)
    # No BN on G's output: the last ConvTranspose is followed by Tanh.
    assert isinstance(g.net[-1], nn.Tanh) and isinstance(g.net[-2], nn.ConvTranspose2d)
    assert any(isinstance(m, nn.ReLU) for m in g.modules())


def test_cits4404_preset_is_conv_dim_32_three_convs_each_side():
    g, d = _build("model.arch=cits4404-dcgan", shape=(32, 32, 3))
    d_convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    g_convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in d_convs] == [32, 64, 128]
    assert [c.out_channels for c in g_convs] == [64, 32, 3]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in d_convs + g_convs)
    assert g.project.out_features == 128 * 4 * 4


def test_keras_dcgan_preset_matches_keras_gan_dcgan_py():
    g, d = _build("model.arch=keras-dcgan")
    d_convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in d_convs] == [32, 64, 128, 256]
    assert [c.stride for c in d_convs] == [(2, 2), (2, 2), (2, 2), (1, 1)]
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.25 for m in d.modules()) == 4
    assert sum(isinstance(m, nn.Upsample) for m in g.modules()) == 2
    assert g.project.out_features == 128 * 7 * 7
