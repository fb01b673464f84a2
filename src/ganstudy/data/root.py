"""Where dataset files live, and the verified download when they are missing.

Search order: ``--data-root``, ``$GANSTUDY_DATA``, the user cache folder
(``$XDG_CACHE_HOME/ganstudy/data``), then Debian's ``/usr/share/datasets``. Each dataset
has its own sub-folder (``<root>/mnist/``). A missing file is downloaded from the public
mirrors into the first writable root and checked against its published MD5; offline, the
error says exactly which files to put where. ``GANSTUDY_OFFLINE=1`` skips the download.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..base.atomic import write_bytes
from ..base.errors import DataError

DEBIAN_ROOT = Path("/usr/share/datasets")
PACKAGED = Path(__file__).parent / "packaged"  # the data shipped inside the package (mnist-mini)


@dataclass(frozen=True)
class RemoteFile:
    name: str  # file name on the mirror, e.g. "t10k-images-idx3-ubyte.gz"
    md5: str  # published checksum of that file


@dataclass(frozen=True)
class RemoteDataset:
    folder: str  # sub-folder of a data root
    mirrors: tuple[str, ...]  # base URLs tried in order
    files: tuple[RemoteFile, ...] = field(default_factory=tuple)


def user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ganstudy" / "data"


def candidate_roots(data_root: str | Path | None) -> list[Path]:
    roots: list[Path] = []
    if data_root:
        roots.append(Path(data_root))
    if os.environ.get("GANSTUDY_DATA"):
        roots.append(Path(os.environ["GANSTUDY_DATA"]))
    roots += [user_cache(), DEBIAN_ROOT]
    return roots


def find_user_file(path: str, data_root: str | Path | None) -> Path:
    """A user-named file or folder: as given (absolute or relative to the working folder),
    else relative to each data root, so a study can say ``cits4404/extra.mat``."""
    given = Path(path).expanduser()
    if given.exists() or given.is_absolute():
        return given
    for root in candidate_roots(data_root):
        if (root / given).exists():
            return root / given
    return given  # the reader reports it missing, with the path as the user wrote it


def _variants(name: str) -> list[str]:
    """A file may be kept gzipped or not."""
    return [name, name[:-3]] if name.endswith(".gz") else [name, name + ".gz"]


def locate(dataset: RemoteDataset, names: list[str], data_root: str | Path | None) -> dict[str, Path]:
    """Paths of ``names`` (mirror file names) in the first root holding each; download what is missing."""
    roots = candidate_roots(data_root)
    found: dict[str, Path] = {}
    for name in names:
        for root in roots:
            hit = next((root / dataset.folder / v for v in _variants(name) if (root / dataset.folder / v).is_file()), None)
            if hit is not None:
                found[name] = hit
                break
    missing = [n for n in names if n not in found]
    if missing:
        found.update(_download(dataset, missing, roots))
    return found


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _download(dataset: RemoteDataset, missing: list[str], roots: list[Path]) -> dict[str, Path]:
    target = roots[0] / dataset.folder  # --data-root, else $GANSTUDY_DATA, else the user cache
    checksums = {f.name: f.md5 for f in dataset.files}
    problems: list[str] = []
    got: dict[str, Path] = {}
    offline = os.environ.get("GANSTUDY_OFFLINE", "") not in ("", "0")
    for name in missing:
        if offline:
            problems.append("downloads are off (GANSTUDY_OFFLINE is set)")
            break
        for mirror in dataset.mirrors:
            url = f"{mirror.rstrip('/')}/{name}"
            try:
                with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - fixed https/http mirrors
                    data = response.read()
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                problems.append(f"{url}: {getattr(exc, 'reason', exc)}")
                continue
            if name in checksums and _md5(data) != checksums[name]:
                problems.append(f"{url}: checksum mismatch (expected md5 {checksums[name]}, got {_md5(data)})")
                continue
            try:
                write_bytes(target / name, data)
            except OSError as exc:
                raise DataError(f"Cannot write the download to {target / name}: {exc}.") from None
            got[name] = target / name
            break
        else:
            break
    still = [n for n in missing if n not in got]
    if still:
        looked = ", ".join(str(r / dataset.folder) for r in roots)
        reason = problems[-1] if problems else "no mirror answered"
        raise DataError(
            f"Dataset files missing: {', '.join(still)}. Looked in {looked}, then tried to download "
            f"({reason}). Put the files (gzipped or not) into {roots[0] / dataset.folder}/ , or point "
            f"--data-root or GANSTUDY_DATA at a folder that has a '{dataset.folder}/' sub-folder holding them."
        )
    return got
