"""Reports of a study: report.md, report.html and results.csv in ``<study dir>/report/``.

The report is written as a whole and is never stale: after its three files it writes
``.inputs``, a hash of what it was made from (the study as run and every run's state and
result). ``ganstudy run`` rewrites it whenever that hash no longer matches, so a report cut
short by a kill, or older than the results it reads, is made again.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
from pathlib import Path

from .._version import __version__
from ..base import faults
from ..base.atomic import write_text
from ..base.errors import GanstudyError
from .collect import StudyResults, collect
from .format import csv_cell

FILES = ("report.md", "report.html", "results.csv")
STAMP = ".inputs"


def results_csv(res: StudyResults) -> str:
    """One row per case x seed: identity, status, every config key, every metric and final loss."""
    config_keys = list(res.runs[0].config) if res.runs else []
    metric_keys = sorted({k for r in res.runs for k in r.row.metrics})
    final_keys = sorted({k for r in res.runs for k in r.row.final})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["case", "seed", "run_hash", "status", "wall_seconds", *config_keys,
                     *[f"metric.{k}" for k in metric_keys], *[f"final.{k}" for k in final_keys]])
    for r in res.runs:
        writer.writerow([csv_cell(x) for x in (
            r.row.case, r.row.seed, r.row.run_hash, r.row.status, r.wall_seconds or "",
            *[r.config.get(k) for k in config_keys], *[r.row.metrics.get(k, "") for k in metric_keys],
            *[r.row.final.get(k, "") for k in final_keys])])
    return buffer.getvalue()


def inputs_hash(study_dir: str | Path) -> str:
    """What a report is made from: the study as run, and each run's state and result."""
    root = Path(study_dir)
    h = hashlib.sha256(__version__.encode())
    for name in ("study.toml", "study.json"):
        h.update(name.encode() + b"\0" + _bytes(root / name))
    for run in sorted(root.glob("runs/*/*")):
        h.update(str(run.relative_to(root)).encode() + b"\0" + _bytes(run / "result.json") + b"\0" + _state(run))
    return h.hexdigest()


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return b"-"


def _state(run: Path) -> bytes:
    """A run's state without its moving parts (its progress changes with every checkpoint)."""
    try:
        return str(json.loads((run / "status.json").read_text()).get("state")).encode()
    except (FileNotFoundError, ValueError):
        return b"-"


def is_current(study_dir: str | Path) -> bool:
    """Are the report's files all there, and made from the study's present results?"""
    folder = Path(study_dir) / "report"
    if not all((folder / name).is_file() for name in FILES):
        return False
    try:
        return (folder / STAMP).read_text().strip() == inputs_hash(study_dir)
    except FileNotFoundError:
        return False


def summary_of(study_dir: str | Path) -> str:
    """The one sentence a current report says the study found (its first paragraph)."""
    text = (Path(study_dir) / "report" / "report.md").read_text(encoding="utf-8")
    after = text.split("## What this study says", 1)[-1].strip()
    return after.split("\n\n", 1)[0].strip()


def write_report(path: str | Path, floor: bool = True) -> tuple[StudyResults, Path]:
    """Analyse the study in folder ``path`` and write its three report files, then its stamp."""
    from ..storage.studyfolder import study_folder
    from . import html, markdown

    stamp = inputs_hash(study_folder(path))
    res = collect(path, floor=floor)
    folder = res.out / "report"
    (folder / STAMP).unlink(missing_ok=True)  # until every file is written, the report is not current
    try:
        write_text(folder / "report.md", markdown.render(res))
        faults.hit("report")
        write_text(folder / "report.html", html.render(res))
        write_text(folder / "results.csv", results_csv(res))
        write_text(folder / STAMP, stamp + "\n")
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # The analysis is done; only its files cannot be written: say what it found, then why.
        raise GanstudyError(f"{res.summary}\nThe report files could not be written: the disk holding {folder} is "
                            "full. Free some space and run `ganstudy report` again (the files there are as they "
                            "were: each is replaced whole or not at all).") from None
    return res, folder
