"""Generator and discriminator: layers, the MLP and DCGAN builders, the architecture registry
and its built-ins, the GAN losses, and stacks of networks trained as one (``stacked``)."""

from . import builtin  # noqa: F401 - the built-in architectures exist wherever the registry is used
