"""The study folder: the study as run, a SQLite index of runs, one folder per run, a lock.

```
<dir>/study.toml            the study file as last run here
<dir>/index.sqlite          runs (by run hash) and which case x seed uses which run
<dir>/runs/<case>/<seed>-<hash8>/   config.json status.json metrics.jsonl samples/ checkpoints/ result.json
<dir>/.lock                 held (flock) while a `ganstudy run` works on this folder
```

The run folders are the truth; the index is a fast view of them that
:meth:`StudyStore.rebuild_index` can always recreate. A run is found by its hash, so a
case of a later study version that trains exactly as an earlier case reuses its runs.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.errors import GanstudyError
from ..base.paths import inside
from ..base.status import ENDED, Status
from ..training.checkpoints import CHECKPOINT, is_whole
from ..training.runfolder import read_result

#: A run that failed this many times is given up (until `ganstudy run --retry-failed`).
MAX_ATTEMPTS = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_hash TEXT PRIMARY KEY,
    path TEXT NOT NULL,            -- relative to the study folder
    case_id TEXT NOT NULL,         -- the case that first asked for it
    seed INTEGER NOT NULL,
    config_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    started REAL,
    ended REAL,
    host TEXT,
    wall_seconds REAL,
    iterations INTEGER,
    final TEXT                     -- JSON: the last logged losses (and metrics, once scored)
);
CREATE TABLE IF NOT EXISTS case_runs (
    study TEXT NOT NULL,
    case_id TEXT NOT NULL,
    seed INTEGER NOT NULL,
    run_hash TEXT NOT NULL,
    PRIMARY KEY (study, case_id, seed)
);
"""


@dataclass
class RunRecord:
    run_hash: str
    path: str
    case_id: str
    seed: int
    config_hash: str
    status: str
    attempts: int = 0
    error: str | None = None
    started: float | None = None
    ended: float | None = None
    host: str | None = None
    wall_seconds: float | None = None
    iterations: int | None = None
    final: str | None = None

    @property
    def final_dict(self) -> dict[str, Any]:
        return json.loads(self.final) if self.final else {}


class StudyLocked(GanstudyError):
    pass


class StudyStore:
    """A study folder's run index (``index.sqlite``) and its run folders. The index is a cache
    of the run folders (``rebuild_index``), so a damaged one is rebuilt, and one that cannot be
    written (a full disk) can be held in memory by a command that only reads (``reading``)."""

    def __init__(self, root: str | Path) -> None:
        self._memory: sqlite3.Connection | None = None  # set by reading() on a full disk
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanstudyError(f"{self.root}: cannot be a study folder ({exc.strerror or exc}). Choose another "
                                "--out, a folder you can write to.") from None
        self.db_path = self.root / "index.sqlite"
        try:
            self._open()
        except sqlite3.DatabaseError as exc:  # random bytes, a wrong schema: the run folders are the truth
            if "locked" in str(exc):
                raise
            aside = self.db_path.with_name(f"index.sqlite.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            self.db_path.replace(aside)
            for extra in ("-wal", "-shm"):
                self.db_path.with_name("index.sqlite" + extra).unlink(missing_ok=True)
            print(f"warning: {self.db_path} was damaged ({exc}); kept as {aside.name}, and the index is rebuilt "
                  "from the run folders.", file=sys.stderr)
            self._open()

    def _open(self) -> None:
        """Create the tables, and check that those there have the columns this version reads."""
        try:
            with self._db() as db:
                db.executescript(SCHEMA)
                db.execute(f"SELECT {', '.join(RunRecord.__dataclass_fields__)} FROM runs LIMIT 0")
                db.execute("SELECT study, case_id, seed, run_hash FROM case_runs LIMIT 0")
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise GanstudyError(f"{self.db_path}: cannot be written ({exc}). A study folder must be writable: "
                                    "copy it somewhere you can write to.") from None
            raise

    @classmethod
    def reading(cls, root: str | Path) -> StudyStore:
        """The store of a command that only reads (``status``, ``report``), its index rebuilt from
        the run folders: on a full disk, where the index cannot be written, the rebuilt index is
        held in memory instead (with a warning), so that the study can still be looked at."""
        try:
            store = cls(root)
            store.rebuild_index()
            return store
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        store = cls.__new__(cls)
        store.root, store.db_path = Path(root), Path(root) / "index.sqlite"
        store._memory = sqlite3.connect(":memory:")
        try:  # what the index on disk holds (the reasons runs failed): if it can still be read
            disk = sqlite3.connect(f"file:{store.db_path}?mode=ro", uri=True, timeout=30)
            disk.backup(store._memory)
            disk.close()
        except sqlite3.Error:
            pass
        store._memory.executescript(SCHEMA)
        store.rebuild_index()
        print(f"warning: the disk holding {store.root} is full: its index is read from the run folders and not "
              "updated; free some space, then `ganstudy run` it again to continue.", file=sys.stderr)
        return store

    # ------------------------------------------------------------------ sqlite
    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if self._memory is not None:
            with self._memory:
                yield self._memory
            return
        db = sqlite3.connect(self.db_path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers (ganstudy status) never block the runner
            with db:  # one transaction: committed whole or not at all
                yield db
        except sqlite3.OperationalError as exc:
            if self._disk_full(exc):  # as every other write on a full disk: an OSError the CLI says in words
                raise OSError(errno.ENOSPC, f"No space left on device (the run index: {exc})", str(self.db_path)) from None
            raise
        finally:
            db.close()

    def _disk_full(self, exc: sqlite3.OperationalError) -> bool:
        """SQLite says "database or disk is full", or only "disk I/O error" when its shared-memory
        file cannot grow on a full disk: then the free space decides."""
        if "full" in str(exc):
            return True
        try:
            return "I/O" in str(exc) and shutil.disk_usage(self.root).free < 2**20
        except OSError:
            return False

    def record(self, rec: RunRecord) -> None:
        fields = list(RunRecord.__dataclass_fields__)
        with self._db() as db:
            db.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                [getattr(rec, f) for f in fields],
            )

    def link(self, study: str, case_id: str, seed: int, run_hash: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO case_runs VALUES (?, ?, ?, ?)", (study, case_id, seed, run_hash))

    def get(self, run_hash: str) -> RunRecord | None:
        with self._db() as db:
            row = db.execute(f"SELECT {', '.join(RunRecord.__dataclass_fields__)} FROM runs WHERE run_hash = ?",
                             (run_hash,)).fetchone()
        return RunRecord(*row) if row else None

    def all_runs(self) -> list[RunRecord]:
        with self._db() as db:
            rows = db.execute(f"SELECT {', '.join(RunRecord.__dataclass_fields__)} FROM runs ORDER BY path").fetchall()
        return [RunRecord(*row) for row in rows]

    def case_runs(self, study: str) -> list[tuple[str, int, str]]:
        with self._db() as db:
            return db.execute("SELECT case_id, seed, run_hash FROM case_runs WHERE study = ? ORDER BY rowid",
                              (study,)).fetchall()

    # ------------------------------------------------------------------ run folders
    def run_dir(self, rec: RunRecord) -> Path:
        return inside(self.root, rec.path)  # the index is a file anyone could edit: its paths stay in the study

    @staticmethod
    def folder_for(case_id: str, seed: int, run_hash: str) -> str:
        return f"runs/{case_id}/{seed}-{run_hash[:8]}"

    def inspect(self, rec: RunRecord) -> str:
        """The state of a run from its folder: ended, interrupted (resumable) or pending."""
        run = self.run_dir(rec)
        result = read_result(run)
        if result is not None and result.run_hash == rec.run_hash and result.status in ENDED:
            return result.status
        if is_whole(run / CHECKPOINT):  # a checkpoint cut short is no start: the run starts again
            return Status.INTERRUPTED
        return Status.PENDING

    def state(self, rec: RunRecord) -> str:
        """What to show for a run: ended (from its folder), else running (a process holds its
        run lock now), else failed (from the index), else interrupted or pending (its folder)."""
        inspected = self.inspect(rec)
        if inspected in ENDED:
            return inspected
        if run_is_locked(self.run_dir(rec)):
            return Status.RUNNING
        return Status.FAILED if rec.status == Status.FAILED else inspected

    def rebuild_index(self) -> int:
        """Recreate the runs table from the run folders (the source of truth). Returns runs found."""
        found = 0
        for config in sorted(self.root.glob("runs/*/*/config.json")):
            run = config.parent
            try:
                described = json.loads(config.read_text())
                run_hash, cfg = described["run_hash"], described["config"]
            except (json.JSONDecodeError, KeyError):
                continue  # a folder that never got going: it will be redone
            old = self.get(run_hash)
            rec = RunRecord(run_hash, str(run.relative_to(self.root)), run.parent.name, int(cfg["train"]["seed"]),
                            described.get("config_hash", ""), Status.PENDING, old.attempts if old else 0)
            rec.status = self.inspect(rec)
            if old is not None and old.status == Status.FAILED and rec.status not in ENDED:
                rec.status, rec.error = Status.FAILED, old.error  # why it failed is only in the index
            result = read_result(run)
            if result is not None and rec.status in ENDED:
                rec.wall_seconds, rec.iterations = result.wall_seconds, result.iterations
                rec.final = json.dumps(result.final)
            self.record(rec)
            found += 1
        return found

    # ------------------------------------------------------------------ lock
    @contextmanager
    def lock(self) -> Iterator[None]:
        """One `ganstudy run` per study folder; a lock left by a killed process is taken over."""
        def refused(holder: str) -> GanstudyError:
            return StudyLocked(
                f"{self.root} is being run by {holder}. Wait for it to finish, or stop it (Ctrl-C keeps its "
                "progress) and run again; `ganstudy status` shows its progress meanwhile.")

        with held(self.root / ".lock", refused):
            yield


@contextmanager
def held(path: Path, refused: Callable[[str], GanstudyError]) -> Iterator[None]:
    """An exclusive lock on ``path``, with who holds it written inside. It is a flock, which the
    OS drops when its holder dies: no stale lock to clean after a kill. ``refused(holder)`` is
    what to raise when another process holds it."""
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise refused(holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
    handle.flush()
    try:
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


# ---------------------------------------------------------------------- run locks
RUN_LOCK = ".lock"


class RunBusy(GanstudyError):
    """Another process is training this run (it holds the run folder's lock)."""


@contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """One writer per run folder, held while a process trains it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with held(run_dir / RUN_LOCK, lambda holder: RunBusy(f"{run_dir} is being trained by {holder}")):
        yield


def run_is_locked(run_dir: str | Path) -> bool:
    """Is some process training this run right now?"""
    path = Path(run_dir) / RUN_LOCK
    if not path.is_file():
        return False
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
