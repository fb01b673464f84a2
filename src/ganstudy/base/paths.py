"""Where ganstudy keeps what it computes once and reuses: the user cache (evaluator networks,
reference statistics, stand-in data sets). On the ground floor because data, metrics and
training all read it and none of them owns it."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GANSTUDY_CACHE``, else ``$XDG_CACHE_HOME/ganstudy``, else ``~/.cache/ganstudy``."""
    base = os.environ.get("GANSTUDY_CACHE") or str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganstudy")
    return Path(base)
