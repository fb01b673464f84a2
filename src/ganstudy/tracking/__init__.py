"""Tracking: each run's losses, metrics and sample grids, written as it trains to the tools a
user already watches (TensorBoard, MLflow; plugins add more). The registry and the
:class:`Tracker` a run writes through are in :mod:`.registry`."""

from . import mlflow_logger, tensorboard_logger  # noqa: F401 - the built-in loggers register themselves
