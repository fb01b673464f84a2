"""Before a study trains: what the machine must provide, checked for every run at once.

A missing data file or a disk that cannot be written is the environment's fault, not a
run's: found here, it is one clear error before anything trains, instead of every run
failing (and being given up after three attempts) one by one.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from ..base.errors import GanstudyError
from ..spec.study import RunSpec

#: Less free space than this in the study folder stops a study before it starts.
MIN_FREE_BYTES = 200 * 2**20


def check(specs: list[RunSpec], out_dir: Path, data_root: str | Path | None, write: bool = True) -> None:
    """Raise one GanstudyError listing every problem, or return. ``write=False`` (``ganstudy
    plan``) writes nothing: the study folder, which may not exist yet, is judged by the nearest
    folder above it that does (can this user write there, how much is free)."""
    shapes: dict[str, tuple[int, int, int]] = {}
    problems = (_data_problems(specs, data_root, shapes) + _memory_problems(specs, shapes)
                + _disk_problems(out_dir, write) + _logger_problems(specs))
    if problems:
        raise GanstudyError("the study cannot start: " + " ".join(dict.fromkeys(problems)) +
                            " Nothing was trained; fix this and run the same command again.")


def _logger_problems(specs: list[RunSpec]) -> list[str]:
    """A logger whose library is missing fails every run: say so once, before any trains."""
    from ..tracking.registry import check

    problems = []
    for loggers in dict.fromkeys(tuple(s.config.train.loggers) for s in specs):
        try:
            check(list(loggers))
        except GanstudyError as exc:
            problems.append(str(exc))
    return problems


def _data_key(spec: RunSpec) -> str:
    return json.dumps(spec.config.data.model_dump(mode="json", exclude={"scale"}), sort_keys=True)


def _data_problems(specs: list[RunSpec], data_root: str | Path | None,
                   shapes: dict[str, tuple[int, int, int]]) -> list[str]:
    """Every data file the runs read, loaded once; ``shapes`` gets each data config's image shape."""
    from ..data.prepare import load_training_data
    from ..data.registry import load_split
    from ..training.scoring import reference_choice

    by_message: dict[str, list[str]] = {}
    seen: dict[str, str | None] = {}
    for spec in specs:
        cfg = spec.config
        choice = reference_choice(cfg) if cfg.eval.metrics else "holdout"
        key = json.dumps([cfg.data.model_dump(mode="json", exclude={"scale"}), choice], sort_keys=True)
        if key not in seen:
            seen[key] = None
            try:
                shapes[_data_key(spec)] = load_training_data(cfg.data, data_root).train.shape
                if choice not in ("holdout", cfg.data.split):  # evaluation reads another split too
                    load_split(cfg.data.dataset, choice, Path(data_root) if data_root else None, cfg.data.path,
                               cfg.data.image_size)
            except GanstudyError as exc:
                seen[key] = str(exc)
        if seen[key] is not None:
            by_message.setdefault(seen[key], []).append(spec.case)  # type: ignore[arg-type]
    return [f"[case{'s' if len(set(cases)) > 1 else ''} {', '.join(dict.fromkeys(cases))}] {message}"
            for message, cases in by_message.items()]


def _memory_problems(specs: list[RunSpec], shapes: dict[str, tuple[int, int, int]]) -> list[str]:
    """A run that needs more memory than the machine has free fails (or takes the machine
    down) minutes in: its estimate (``models.footprint``) is checked here, per distinct model."""
    from ..machine.cores import available_memory
    from ..models.footprint import footprint, human
    from ..models.losses import get as get_loss

    free = available_memory()
    if not free:
        return []
    problems = []
    seen: set[str] = set()
    for spec in specs:
        cfg, shape = spec.config, shapes.get(_data_key(spec))
        key = json.dumps([cfg.model.model_dump(mode="json"), cfg.train.batch_size, cfg.loss.kind, shape])
        if shape is None or key in seen:
            continue
        seen.add(key)
        need = footprint(cfg.model, shape, get_loss(cfg.loss.kind).d_head, cfg.train.batch_size)
        if need.bytes > free:
            problems.append(
                f"[case {spec.case}] one run needs about {human(need.bytes)} of memory ({need.parameters:,} "
                f"parameters; train.batch_size = {cfg.train.batch_size}) and this machine has {human(free)} free: "
                "lower train.batch_size or the model's widths or channels.")
    return problems


def _disk_problems(out_dir: Path, write: bool = True) -> list[str]:
    where = out_dir if write else next(p for p in (out_dir.absolute(), *out_dir.absolute().parents) if p.exists())
    try:
        if write:
            probe = out_dir / ".write-test"
            probe.write_bytes(b"ganstudy")
            probe.unlink()
        elif not (where.is_dir() and os.access(where, os.W_OK | os.X_OK)):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as exc:
        return [f"{out_dir} cannot be written ({exc.strerror or exc}): give --out a folder you can write to."]
    free = shutil.disk_usage(where).free
    if free < MIN_FREE_BYTES:
        return [f"only {free / 2**20:.0f} MiB free where {out_dir} is; checkpoints and samples need more "
                f"(at least {MIN_FREE_BYTES / 2**20:.0f} MiB): free some space or give another --out."]
    return []
