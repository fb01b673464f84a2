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


def inside(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root / parts``, refused (a GanstudyError) if it would lie outside ``root``: every name
    that becomes part of a path in a study folder (a case id, a study's name, a run's folder as
    the index records it) passes here, so that no name, however it was written, walks out.
    The check is on the path as written (``..``, an absolute part), not on where symbolic links
    lead: a study folder whose ``runs`` a user linked to another disk is still theirs."""
    from .errors import GanstudyError

    root = Path(root)
    joined = os.path.normpath(os.path.join(*parts)) if parts else "."
    if os.path.isabs(joined) or joined == ".." or joined.startswith(".." + os.sep) or "\0" in joined:
        raise GanstudyError(f"{os.path.join(*parts) if parts else ''!r} would be written outside {root}; a name that "
                            "becomes part of a path may not hold '..', '/' at its start or a NUL.")
    return root / joined
