"""The CITS4404 notebook's DCGAN (mengmm96/CITS4404-ASSG3, Code/DCGANS_ZIMINM.ipynb), copied
here from its cells (Colab and torchvision lines left out), against ganstudy's
``cits4404-notebook`` preset and keys: the same parameters, and one training step that
computes the same losses and the same updated weights from the same weights and draws."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from ganstudy.models.layers import count_parameters
from ganstudy.models.losses import get as get_loss
from ganstudy.models.registry import build
from ganstudy.spec.layers import Layer, build_config
from ganstudy.training.optim import make_optimizers
from ganstudy.training.schedules import lr_factor
from ganstudy.training.steps import GanState, pytorch_step

# ---------------------------------------------------------------- the notebook's code (cells 13-20, 22)


def conv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    layers = []
    conv_layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
    layers.append(conv_layer)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class Discriminator(nn.Module):
    def __init__(self, conv_dim=32):
        super(Discriminator, self).__init__()
        self.conv_dim = conv_dim
        self.conv1 = conv(3, conv_dim, 4, batch_norm=False)
        self.conv2 = conv(conv_dim, conv_dim * 2, 4)
        self.conv3 = conv(conv_dim * 2, conv_dim * 4, 4)
        self.fc = nn.Linear(conv_dim * 4 * 4 * 4, 1)

    def forward(self, xx):
        out = F.leaky_relu(self.conv1(xx), 0.2)
        out = F.leaky_relu(self.conv2(out), 0.2)
        out = F.leaky_relu(self.conv3(out), 0.2)
        out = out.view(-1, self.conv_dim * 4 * 4 * 4)
        out = self.fc(out)
        return out


def deconv(in_channels, out_channels, kernel_size, stride=2, padding=1, batch_norm=True):
    layers = []
    transpose_conv_layer = nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
    layers.append(transpose_conv_layer)
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    def __init__(self, z_size, conv_dim=32):
        super(Generator, self).__init__()
        self.conv_dim = conv_dim
        self.fc = nn.Linear(z_size, conv_dim * 4 * 4 * 4)
        self.t_conv1 = deconv(conv_dim * 4, conv_dim * 2, 4)
        self.t_conv2 = deconv(conv_dim * 2, conv_dim, 4)
        self.t_conv3 = deconv(conv_dim, 3, 4, batch_norm=False)

    def forward(self, xx):
        out = self.fc(xx)
        out = out.view(-1, self.conv_dim * 4, 4, 4)
        out = F.relu(self.t_conv1(out))
        out = F.relu(self.t_conv2(out))
        out = self.t_conv3(out)
        out = torch.tanh(out)  # the notebook's F.tanh, deprecated since
        return out


def real_loss(D_out, smooth=False):
    batch_size = D_out.size(0)
    labels = torch.ones(batch_size) * 0.9 if smooth else torch.ones(batch_size)
    criterion = nn.BCEWithLogitsLoss()
    return criterion(D_out.squeeze(), labels)


def fake_loss(D_out):
    batch_size = D_out.size(0)
    labels = torch.zeros(batch_size)
    criterion = nn.BCEWithLogitsLoss()
    return criterion(D_out.squeeze(), labels)


def scale(xx, feature_range=(-1, 1)):
    min, max = feature_range
    xx = xx / 255
    xx = xx * (max - min) + min
    return xx


def notebook_lr(epoch: int) -> float:
    """Cell 22's schedule, epoch by epoch (``lr`` persists in the optimiser between epochs)."""
    lr = 0.01
    for e in range(epoch + 1):
        if e > 20:
            lr = 0.005
        if e > 40:
            lr = 0.002
        if e > 60:
            lr = 0.001
        if e > 80:
            lr = 0.0005
    return lr


# ---------------------------------------------------------------- ganstudy's side

NOTEBOOK = {
    "data.dataset": "svhn", "model.arch": "cits4404-notebook", "model.latent_dim": 100, "loss.kind": "bce_logits",
    "optim.lr": 0.01, "optim.beta1": 0.5, "optim.beta2": 0.999, "optim.eps": 1e-8, "train.step_style": "pytorch",
    "train.g_fresh_noise": True, "train.d_loss_sum": True, "train.batch_size": 16, "train.iterations": 10,
}


def ganstudy_config(**extra):
    return build_config([Layer("the notebook", {**NOTEBOOK, **extra})])


def test_the_preset_has_the_notebooks_parameters():
    cfg = ganstudy_config()
    assert cfg.model.noise == "uniform" and cfg.model.conv_bias is False and cfg.model.init == "torch_default"
    g, d = build(cfg.model, (32, 32, 3), get_loss("bce_logits").d_head)
    G, D = Generator(100, 32), Discriminator(32)
    shapes = lambda m: [tuple(t.shape) for t in m.state_dict().values()]  # noqa: E731 - weights and BN buffers, in order
    assert shapes(g) == shapes(G) and shapes(d) == shapes(D)
    assert count_parameters(g) == count_parameters(G) and count_parameters(d) == count_parameters(D)
    trainable = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # G: fc 100*2048 + 2048, t_conv1 128*64*16 + BN 2*64, t_conv2 64*32*16 + BN 2*32, t_conv3 32*3*16;
    # D: conv1 3*32*16, conv2 32*64*16 + BN 2*64, conv3 64*128*16 + BN 2*128, fc 2048 + 1
    assert (trainable(G), trainable(D)) == (372_416, 167_809)


def test_one_step_equals_the_notebooks():
    cfg = ganstudy_config()
    torch.manual_seed(0)
    g, d = build(cfg.model, (32, 32, 3), get_loss("bce_logits").d_head)
    G, D = Generator(100, 32), Discriminator(32)
    for mine, theirs in ((g, G), (d, D)):  # the same starting weights, layer by layer
        theirs.load_state_dict(dict(zip(theirs.state_dict(), mine.state_dict().values())))

    rng = np.random.default_rng(0)
    pixels = torch.Tensor(rng.integers(0, 256, (16, 3, 32, 32)).astype(np.float32))
    real = scale(pixels)
    opt_g, opt_d, _ = make_optimizers(cfg, g, d)
    state = GanState(cfg, g, d, opt_g, opt_d, None, get_loss("bce_logits"), [torch.Generator().manual_seed(1)],
                     torch.device("cpu"))
    drawn, grads = [], {}
    noise = state.noise
    state.noise = lambda n: drawn.append(noise(n)) or drawn[-1]
    for name, opt, net in (("d", opt_d, d), ("g", opt_g, g)):  # the gradients each update is made from
        step = opt.step
        opt.step = lambda *a, _step=step, _net=net, _name=name: (
            grads.__setitem__(_name, [p.grad.clone() for p in _net.parameters()]), _step(*a))[1]
    stats = pytorch_step(state, lambda: real.clone())
    assert len(drawn) == 2 and drawn[0].min() >= -1 and drawn[0].max() <= 1 and drawn[0].min() < -0.9  # U(-1, 1)

    d_optimizer = optim.Adam(D.parameters(), 0.01, [0.5, 0.999])
    g_optimizer = optim.Adam(G.parameters(), 0.01, [0.5, 0.999])
    # cell 22's loop body, with ganstudy's draws of z in place of np.random.uniform
    d_optimizer.zero_grad()
    D_real = D(real)
    d_real_loss = real_loss(D_real)
    fake_images = G(drawn[0])
    D_fake = D(fake_images)
    d_fake_loss = fake_loss(D_fake)
    d_loss = d_real_loss + d_fake_loss
    d_loss.backward()
    d_grads = [p.grad.clone() for p in D.parameters()]
    d_optimizer.step()
    g_optimizer.zero_grad()
    fake_images = G(drawn[1])
    D_fake = D(fake_images)
    g_loss = real_loss(D_fake)
    g_loss.backward()
    g_grads = [p.grad.clone() for p in G.parameters()]
    g_optimizer.step()

    d_real_mine, d_fake_mine, _, _, g_loss_mine = stats.tolist()
    assert d_real_mine == pytest.approx(d_real_loss.item(), rel=1e-6)
    assert d_fake_mine == pytest.approx(d_fake_loss.item(), rel=1e-6)
    assert g_loss_mine == pytest.approx(g_loss.item(), rel=1e-5)
    for mine, theirs in ((grads["g"], g_grads), (grads["d"], d_grads)):  # the same gradients...
        for a, b in zip(mine, theirs):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-6 * b.abs().max().item())
    for (mine, theirs), gradients in (((g, G), g_grads), ((d, D), d_grads)):  # ... and the same Adam step
        for (name, a), b, grad in zip(mine.named_parameters(), theirs.parameters(), gradients):
            # Adam's first step is lr * g / (|g| + eps): where |g| is near eps, the gradient's last
            # bits (D frozen or not in G's backward) decide it, so those weights are left out.
            clear = grad.abs() > 1e-6
            assert torch.allclose(a[clear], b[clear], atol=1e-5), name  # 0.1% of a first step (lr 0.01)
    for a, b in zip([b for n, b in g.named_buffers() if "running" in n], [b for n, b in G.named_buffers() if "running" in n]):
        assert torch.allclose(a, b, atol=1e-6)  # G's batch norm statistics: two forward passes in both


def test_the_schedule_changes_when_the_notebook_does():
    per_epoch = 7
    cfg = build_config([Layer("t", {"optim.lr": 0.01, "optim.schedule": "step", "optim.milestone_unit": "epoch",
                                    "optim.milestones": [20, 40, 60, 80], "optim.milestone_after": True,
                                    "optim.values": [0.005, 0.002, 0.001, 0.0005], "train.epochs": 100})])
    for epoch in range(100):
        for it in (epoch * per_epoch, epoch * per_epoch + per_epoch - 1):
            assert 0.01 * lr_factor(cfg.optim, it, 100 * per_epoch, per_epoch) == pytest.approx(notebook_lr(epoch))
    before = build_config([Layer("t", {**{k: v for k, v in cfg.flat().items() if k.startswith("optim.")},
                                       "optim.milestone_after": False})])
    assert 0.01 * lr_factor(before.optim, 20 * per_epoch, 100 * per_epoch, per_epoch) == pytest.approx(0.005)
    assert notebook_lr(20) == 0.01  # ... where the notebook still trains epoch 21 (index 20) at 0.01


def test_losses_the_write_ups_used():
    out = torch.tensor([-2.0, 0.0, 3.0])
    logits = get_loss("bce_logits")
    assert torch.allclose(logits.d_real(out, 0.0, 1e-7), F.binary_cross_entropy_with_logits(out, torch.ones(3),
                                                                                              reduction="none"))
    assert logits.accuracy(out, True).tolist() == [0.0, 0.0, 1.0]  # a logit above 0 is called real
    sigmoid_mse = get_loss("mse_sigmoid")  # Keras loss='mse' on D's sigmoid: case 12 of the first write-up
    p = torch.tensor([0.2, 0.9])
    assert sigmoid_mse.d_head == "sigmoid" and torch.allclose(sigmoid_mse.d_real(p, 0.0, 1e-7), (p - 1) ** 2)
    assert get_loss("mse").d_head == "linear"  # LSGAN stays its own key


def test_keys_left_at_their_old_values_keep_old_run_hashes():
    plain = build_config([Layer("t", {"model.arch": "cits4404-dcgan"})])
    explicit = build_config([Layer("t", {"model.arch": "cits4404-dcgan", "model.noise": "normal",
                                         "model.conv_bias": True, "train.g_fresh_noise": False})])
    assert plain.run_hash() == explicit.run_hash() == "%s" % plain.run_hash()
    assert build_config([Layer("t", {"model.arch": "cits4404-dcgan", "model.noise": "uniform"})]).run_hash() != \
        plain.run_hash()
