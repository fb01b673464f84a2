"""Images to train on and to score against: the dataset registry and its built-in datasets,
the files they are read from (and downloaded to, checked), the offline stand-ins, and the
training set a run asks for (``prepare``)."""

from . import builtin  # noqa: F401 - the built-in datasets exist wherever the registry is used
