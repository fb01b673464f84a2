"""Where a run's checkpoint lives, and how the members of a seed group commit theirs together.

A run alone writes ``checkpoints/last.pt`` atomically. The members of a seed group write
theirs in two phases: each writes ``checkpoints/pending.pt``, and only when every member has
one are they renamed to ``last.pt``. A kill can then leave the members at two iterations at
most (some renamed, some still pending); on resume, ``reconcile`` finds the last iteration
every member holds, promotes the pending checkpoints at it and drops the others, so the
group resumes together, bit for bit as if it had never stopped. (A GAN amplifies rounding:
one member resumed alone, from a checkpoint the others passed, would end materially
different.)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

CHECKPOINT = "checkpoints/last.pt"
PENDING_CHECKPOINT = "checkpoints/pending.pt"


def promote(run_dir: str | Path) -> None:
    """The second phase of a group's commit: this member's pending checkpoint becomes its last."""
    pending = Path(run_dir) / PENDING_CHECKPOINT
    if pending.is_file():
        os.replace(pending, Path(run_dir) / CHECKPOINT)


def is_whole(path: str | Path) -> bool:
    """Is the checkpoint at ``path`` there and whole? ``torch.save`` writes a zip, whose
    directory is at its end: a copy cut short has none. (Cheap: no tensor is read.)"""
    import zipfile

    return zipfile.is_zipfile(path)


def drop_pending(run_dir: str | Path) -> None:
    (Path(run_dir) / PENDING_CHECKPOINT).unlink(missing_ok=True)


def load(path: str | Path, device: object = "cpu", error: type[Exception] | None = None) -> dict:
    """A checkpoint's contents, loaded as plain tensors and containers only (``weights_only``:
    nothing in the file can run code). A missing, empty, truncated, damaged or foreign file is
    one clear error naming it (``error``: the class to raise, a GanstudyError by default)."""
    import torch

    from ..base.errors import GanstudyError

    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(ckpt, dict) or "g" not in ckpt:
            raise ValueError("it holds no generator")
        return ckpt
    except FileNotFoundError:
        raise (error or GanstudyError)(f"{path}: no such checkpoint.") from None
    except Exception as exc:  # noqa: BLE001 - EOF, bad zip, refused pickle, wrong content: all one message
        what = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise (error or GanstudyError)(
            f"{path}: not a usable ganstudy checkpoint ({what[:200]}). It may be empty, cut short or damaged, or "
            "not a checkpoint at all (only plain tensors are ever loaded from one). Give another checkpoint, or "
            "train the run again.") from None


def iteration_of(path: Path) -> int | None:
    """The iterations a checkpoint holds, or None if it is missing or cannot be read."""
    try:
        return int(load(path)["iteration"])
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is simply not a candidate
        return None


def reconcile(run_dirs: Sequence[str | Path]) -> int | None:
    """Bring a seed group's members to the last iteration all of them hold (see the module's
    docstring); returns it, or None when they share none (then nothing changes but the
    pending checkpoints, which go)."""
    held: list[dict[str, int]] = []
    for folder in map(Path, run_dirs):
        its = {name: iteration_of(folder / name) for name in (CHECKPOINT, PENDING_CHECKPOINT) if (folder / name).is_file()}
        held.append({name: it for name, it in its.items() if it is not None})
    common = set.intersection(*(set(h.values()) for h in held)) if held else set()
    target = max(common) if common else None
    for folder, its in zip(map(Path, run_dirs), held):
        if target is not None and its.get(PENDING_CHECKPOINT) == target and its.get(CHECKPOINT) != target:
            promote(folder)
        else:
            drop_pending(folder)
    return target
