"""ganstudy: GAN ablation studies with seeds, objective metrics and statistical verdicts.

The Python API (:mod:`ganstudy.api`) is exported here, imported on first use so that
``import ganstudy`` stays light::

    import ganstudy as gs
    folder = gs.run("studies/quickstart.toml", out="runs/quickstart")
    folder.verdicts().to_pandas()
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

_API = ("load", "plan", "run", "open", "Records", "Report", "StudyFolder")
__all__ = [*_API, "GanstudyError", "ConfigError", "DataError", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in ("GanstudyError", "ConfigError", "DataError"):
        from .base import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'ganstudy' has no attribute {name!r}")
