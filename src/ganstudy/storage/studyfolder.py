"""A study's folder: where it is, what it was run with, and what ``status`` and ``add-seeds``
read and change there.

``ganstudy run`` writes a folder holding the study file as run (``study.toml``, its seeds
edited in place by ``--seeds``, ``--max-seeds`` and ``add-seeds``), the arguments it ran with
(``study.json``), the run index and the run folders. Everything that opens such a folder, or
reads its state without training, is here; :mod:`ganstudy.execution.runner` trains.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..base.atomic import write_json, write_text
from ..base.errors import GanstudyError
from ..base.status import ENDED, Status
from ..base.vcs import commit_of
from ..spec.layers import parse_overrides
from ..spec.settings import MAX_SEEDS, SeedRange, StudyMeta
from ..spec.study import Study, load_study
from ..verdicts.rounds import seeds_needed
from .index import StudyStore
from .results import n_classes, study_table

STUDY_FILE = "study.toml"
RUN_ARGS = "study.json"


def resolve_study(path: str | Path, out: str | Path | None) -> tuple[Path, Path, dict[str, Any]]:
    """(study file, study folder, saved run arguments). A folder means "the study run there"."""
    path = Path(path)
    if path.is_dir():
        study_file = path / STUDY_FILE
        if not study_file.is_file():
            raise GanstudyError(f"{path}: not a study folder (no {STUDY_FILE}); give a study .toml file instead.")
        if out is not None and Path(out).resolve() != path.resolve():
            raise GanstudyError(f"{path} is a study folder; --out must be left out or be that folder.")
        saved = json.loads((path / RUN_ARGS).read_text()) if (path / RUN_ARGS).is_file() else {}
        return study_file, path, saved
    if not path.is_file():
        raise GanstudyError(f"{path}: {_why_missing(path)}")
    out_dir = Path(out) if out else Path("ganstudy-runs") / path.stem
    check_out(out_dir)
    return path, _settled(out_dir), {}


def _settled(path: Path) -> Path:
    """A path to be made, with its ``..`` settled first: making ``a/../../x`` as given would leave
    an empty ``a`` behind, outside the study folder. Resolved as the system would (links of the
    parts that exist followed), and kept relative when it was given relative."""
    if path.exists():
        return path
    import os

    resolved = path.resolve()
    return resolved if path.is_absolute() else Path(os.path.relpath(resolved))


def _why_missing(path: Path) -> str:
    """What stands at a path that is neither a study file nor a study folder."""
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that loops (it leads back to itself); point it at a study file."
        return "no such study file or study folder."
    return "not a study file (a .toml file) or a study folder."


#: What ``ganstudy run`` itself puts in a study folder before its study file is saved (a run
#: killed that early leaves only these).
_EARLY = {".lock", "index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal"}


def is_study_folder(path: Path) -> bool:
    """A folder ``ganstudy run`` made: its study file beside its index or run arguments, or
    (its index and study file lost, or runs gathered from elsewhere) nothing but run folders
    under ``runs/``, from which the index is rebuilt."""
    if (path / STUDY_FILE).is_file() and ((path / RUN_ARGS).is_file() or (path / "index.sqlite").is_file()):
        return True
    return {p.name for p in path.iterdir()} <= _EARLY | {"runs", "report"} and _only_run_folders(path / "runs")


RUN_FOLDER = re.compile(r"^\d+-[0-9a-f]{8}$")  # StudyStore.folder_for's seed-hash


def _only_run_folders(runs: Path) -> bool:
    """``runs/`` holds case folders of run folders and nothing else (what a study writes there)."""
    if not runs.is_dir():
        return False
    cases = list(runs.iterdir())
    return bool(cases) and all(case.is_dir() and all(RUN_FOLDER.match(run.name) for run in case.iterdir())
                               for case in cases)


def check_out(path: Path) -> None:
    """A study folder is ours or empty: ``--out`` may be a missing path, an empty folder or a
    folder a study ran in. Anything else holds someone's files, which a study would mix with
    its own or overwrite (its report/, runs/, index), so it is refused."""
    if not path.exists():
        if path.is_symlink():
            raise GanstudyError(f"{path}: a symbolic link to nothing; give --out a real path.")
        return
    if not path.is_dir():
        raise GanstudyError(f"{path} is a file; --out is the study's folder: give a new path.")
    try:
        if is_study_folder(path):
            return
        held = sorted(p.name for p in path.iterdir())
    except OSError as exc:
        raise GanstudyError(f"{path}: cannot be read ({exc.strerror}); give --out a folder you can write to.") from None
    if all(name in _EARLY for name in held):
        return
    shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
    raise GanstudyError(f"{path}: not a study folder, and not empty (it holds {shown}). A study writes its runs, "
                        "index and report into --out, and would mix them with these files or overwrite them: give "
                        "--out a new path or an empty folder, or the folder a study already ran in.")


def study_folder(path: str | Path) -> Path:
    """A study folder that exists (what `report`, `status` and `add-seeds` read): never one made
    up from a study file's name."""
    path = Path(path)
    if path.is_file():
        default = Path("ganstudy-runs") / path.stem
        hint = f" (`ganstudy run {path}` put it in {default})" if (default / STUDY_FILE).is_file() else ""
        raise GanstudyError(f"{path} is a study file; give the folder its study ran in{hint}, e.g. "
                            f"ganstudy run {path} --out DIR, then DIR.")
    if not (path / STUDY_FILE).is_file():
        raise GanstudyError(f"{path}: not a study folder (no {STUDY_FILE}). Give the folder `ganstudy run` wrote.")
    return path


def open_study(path: str | Path, out: str | Path | None = None, overrides: list[str] | None = None,
               seeds: int | None = None, max_seeds: int | None = None) -> tuple[Study, Path, list[str]]:
    study_file, out_dir, saved = resolve_study(path, out)
    overrides = list(overrides) if overrides else list(saved.get("overrides", []))
    layers = [parse_overrides(overrides, "--set")] if overrides else []
    study = load_study(study_file, layers)
    if seeds is not None:
        if not 1 <= seeds <= MAX_SEEDS:
            raise GanstudyError(f"--seeds {seeds}: give from 1 to {MAX_SEEDS} seeds.")
        study.meta.seeds = list(range(seeds))
    if max_seeds is not None:
        current = study.meta.seeds
        first = current.min if isinstance(current, SeedRange) else len(study.seeds)
        if not max(first, 2) <= max_seeds <= MAX_SEEDS:
            raise GanstudyError(f"--max-seeds {max_seeds}: give from {max(first, 2)} (the seeds every case starts "
                                f"with) to {MAX_SEEDS}.")
        share = {"baseline": current.baseline} if isinstance(current, SeedRange) else {}
        study.meta.seeds = SeedRange(min=max(first, 2), max=max_seeds, **share)
    return study, out_dir, overrides


def run_label(case_id: str, seed: int) -> str:
    return f"{case_id} seed {seed}"


def save_study(study: Study, out_dir: Path, overrides: list[str]) -> None:
    """Keep the study as run (and the --set / --seeds it ran with) in its folder."""
    target = out_dir / STUDY_FILE
    text = study.path.read_text(encoding="utf-8")
    if study.path.resolve() != target.resolve():
        write_text(target, text)
    seeds = _seeds_value(study.meta.seeds)
    saved = json.loads((out_dir / RUN_ARGS).read_text()) if (out_dir / RUN_ARGS).is_file() else {}
    source = saved.get("source") if study.path.resolve() == target.resolve() else str(study.path.resolve())
    commit = saved.get("source_commit") if study.path.resolve() == target.resolve() else commit_of(study.path)
    write_json(out_dir / RUN_ARGS, {"source": source, "source_commit": commit, "overrides": overrides, "seeds": seeds})
    if study.meta.seeds != StudyMeta.model_validate(study.raw["study"]).seeds:  # --seeds or --max-seeds changed them
        _write_seeds(target, seeds, "ganstudy run --seeds/--max-seeds")


def _seeds_value(seeds: int | list[int] | SeedRange) -> int | list[int] | dict[str, int]:
    return seeds.model_dump(exclude_none=True) if isinstance(seeds, SeedRange) else seeds


def _write_seeds(study_file: Path, seeds: int | list[int] | dict[str, int], why: str = "--seeds") -> None:
    """Change the study's seeds in its file as run, in place: the user's comments, order and
    layout stay (tomlkit edits TOML without rewriting it), so the file can still be edited by hand."""
    import tomlkit

    doc = tomlkit.parse(study_file.read_text(encoding="utf-8"))
    if isinstance(seeds, dict):
        value = tomlkit.inline_table()
        value.update(seeds)
    else:
        value = tomlkit.item(seeds)
    value.comment(f"set by {why}")
    doc["study"]["seeds"] = value  # type: ignore[index]
    write_text(study_file, tomlkit.dumps(doc))


def status_rows(path: str | Path) -> tuple[Study, list[dict[str, str]]]:
    """One row per case x seed of the study in folder ``path`` that exists or is needed now."""
    study, out_dir, _ = open_study(study_folder(path))
    store = StudyStore.reading(out_dir)
    table = study_table(study, store)
    need = seeds_needed(study, [r.row for r in table], n_classes(study)) if study.meta.adaptive else {}
    owner: dict[str, str] = {}
    rows = []
    for info in table:
        r = info.row
        rec = store.get(r.run_hash)
        if rec is None and r.seed not in study.seeds[: need.get(r.case, len(study.seeds))]:
            continue  # an adaptive study does not need this seed (yet)
        shared = owner.setdefault(r.run_hash, run_label(r.case, r.seed))
        note = f"shares {shared}" if shared != run_label(r.case, r.seed) else ""
        row = {"case": r.case, "seed": str(r.seed), "run": r.run_hash[:8], "state": r.status, "progress": "",
               "wall": "", "final": "", "note": note}
        rows.append(row)
        if rec is None:
            continue
        row["progress"] = _progress_of(store.run_dir(rec))
        if r.status not in ENDED:  # the index's wall time and losses are of a run folder that is gone or redone
            rec.wall_seconds, rec.final = None, None
        if rec.wall_seconds:
            row["wall"] = f"{rec.wall_seconds:.0f}s"
        final = rec.final_dict
        if final:
            row["final"] = f"D {final['d_loss']:.4f} acc {100 * final['d_acc']:.1f}% G {final['g_loss']:.4f}"
        if row["state"] == Status.FAILED and not note:
            row["note"] = f"attempt {rec.attempts}: {rec.error}"
    return study, rows


def _progress_of(run_dir: Path) -> str:
    try:
        st = json.loads((run_dir / "status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return ""
    return f"{st.get('iteration', 0)}/{st.get('total_iterations', '?')}"


def add_seeds(path: str | Path, n: int) -> list[int] | SeedRange:
    """Add up to ``n`` seeds to the study run in folder ``path``: an adaptive study's most seeds
    grow by ``n``; a study of N seeds becomes adaptive from N to N + n. What is done stays done."""
    if n < 1:
        raise GanstudyError("add-seeds: N must be at least 1.")
    study, out_dir, _ = open_study(study_folder(path))
    current = study.meta.seeds
    most = current.max if isinstance(current, SeedRange) else len(study.meta.seed_list(0))
    if most + n > MAX_SEEDS:
        raise GanstudyError(f"add-seeds {n}: {path} has up to {most} seeds a case; a study holds at most {MAX_SEEDS} "
                            f"(add at most {max(MAX_SEEDS - most, 0)}).")
    if isinstance(current, SeedRange):
        value: list[int] | SeedRange = current.model_copy(update={"max": current.max + n})
    elif isinstance(current, int) and current >= 2:
        # Its verdicts have been seen at `current` seeds: more seeds are a second look, so the
        # study becomes adaptive (alpha shared between the looks), and only undecided cases get
        # them; its first look is the one that was seen, the baseline's seeds equal to the cases'.
        value = SeedRange(min=current, max=current + n, baseline=1)
    else:
        seeds = list(study.seeds)
        candidate = 0
        while len(seeds) < len(study.seeds) + n:
            if candidate not in seeds:
                seeds.append(candidate)
            candidate += 1
        value = seeds
    _write_seeds(out_dir / STUDY_FILE, _seeds_value(value), f"ganstudy add-seeds {n}")
    saved = json.loads((out_dir / RUN_ARGS).read_text()) if (out_dir / RUN_ARGS).is_file() else {}
    write_json(out_dir / RUN_ARGS, {**saved, "seeds": _seeds_value(value)})
    return value
