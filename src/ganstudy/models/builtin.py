"""The built-in architectures: the Keras-GAN MLP, the DCGAN paper's, Keras-GAN's DCGAN, and
the CITS4404 write-up's DCGAN in two readings (as described, and as its notebook runs)."""

from __future__ import annotations

from . import dcgan, mlp
from .registry import Arch, register

keras_bn = dict(bn_momentum=0.8, bn_eps=1e-3)
torch_bn = dict(bn_momentum=0.9, bn_eps=1e-5)
register(Arch("mlp", mlp.build, dict(
    g_widths=[256, 512, 1024], d_widths=[512, 256], g_activation="leaky_relu", d_activation="leaky_relu",
    g_slope=0.2, d_slope=0.2, g_batchnorm=True, d_batchnorm=False, g_dropout=0.0, d_dropout=0.0,
    bn_position="after_act", init="glorot_uniform", **keras_bn),
    "Keras-GAN gan.py: dense G 256-512-1024 with BN, dense D 512-256", "mlp"))
conv_common = dict(g_activation="relu", d_activation="leaky_relu", g_slope=0.2, d_slope=0.2,
                   g_dropout=0.0, bn_position="before_act", conv_bias=True)
register(Arch("dcgan", dcgan.build, dict(
    conv_common, g_channels=[256, 128], d_channels=[64, 128, 256], d_kernel=4, g_upsample="transpose",
    g_project_activation=True, g_batchnorm=True, d_batchnorm=[False, True, True], d_dropout=0.0,
    init="normal_002", **torch_bn),
    "DCGAN paper defaults: transposed convs, BN except G output and D input, N(0, 0.02) init", "conv"))
register(Arch("keras-dcgan", dcgan.build, dict(
    conv_common, g_channels=[128, 128, 64], d_channels=[32, 64, 128, 256], d_strides=[2, 2, 2, 1],
    d_kernel=3, g_upsample="upsample", g_project_activation=True, g_batchnorm=[False, True, True],
    d_batchnorm=[False, True, True, True], d_dropout=0.25, init="glorot_uniform", **keras_bn),
    "Keras-GAN dcgan.py: upsample+conv G, 4-conv D with dropout 0.25", "conv"))
register(Arch("cits4404-dcgan", dcgan.build, dict(
    conv_common, g_channels=[128, 64, 32], d_channels=[32, 64, 128], d_kernel=4, g_upsample="transpose",
    g_project_activation=False, g_batchnorm=[False, True, True], d_batchnorm=[False, True, True],
    d_dropout=0.0, init="normal_002", **torch_bn),
    "the CITS4404 write-up's SVHN DCGAN: conv_dim 32, k4 s2 p1, three convs each side", "conv"))
register(Arch("cits4404-notebook", dcgan.build, dict(
    conv_common, g_channels=[128, 64, 32], d_channels=[32, 64, 128], d_kernel=4, g_upsample="transpose",
    g_project_activation=False, g_batchnorm=[False, True, True], d_batchnorm=[False, True, True],
    d_dropout=0.0, init="torch_default", conv_bias=False, noise="uniform", **torch_bn),
    "the CITS4404 notebook's DCGAN as written: no conv biases, torch's default init, z ~ U(-1, 1)", "conv"))
