"""The version-control commit of a user's file (their study), for a report's provenance."""

from __future__ import annotations

import subprocess
from pathlib import Path


def commit_of(path: str | Path) -> str | None:
    """The commit of the git repository that holds ``path`` ("+ uncommitted changes" when its
    work tree differs from it), or None when it is in none (or git is not installed)."""
    folder = str(Path(path).resolve().parent)
    try:
        head = subprocess.run(["git", "-C", folder, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", folder, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + (" + uncommitted changes" if dirty else "")
