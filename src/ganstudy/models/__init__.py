"""Generator and discriminator architectures (see :mod:`.registry`)."""

from .layers import count_parameters
from .registry import build, get, names

__all__ = ["build", "get", "names", "count_parameters"]
