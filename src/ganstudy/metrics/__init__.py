"""Objective quality metrics in an evaluator network's feature space: the formulas, the
metric registry and its built-ins, the evaluator networks (trained once, cached), the real
reference statistics, and the label-free evaluator for data without classes."""

from . import builtin  # noqa: F401 - the built-in metrics exist wherever the registry is used
