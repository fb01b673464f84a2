"""Failpoints for the fault-injection tests (tests/cross/test_faults.py): nothing happens unless
``GANSTUDY_FAULT`` is set.

``GANSTUDY_FAULT="point@n"`` kills this process with SIGKILL the n-th time (default the
first) it passes ``hit(point)``; ``"point@n:parent"`` kills its parent instead (a worker
killing the study's driver). With ``GANSTUDY_FAULT_ONCE=FILE`` only the first process to get
there fires (it creates FILE), so a fault a worker triggers does not fire again in the
worker that replaces it.

The points: ``checkpoint`` (a run just saved one), ``member-checkpoint`` (a seed group's
member saved its pending checkpoint, before the others), ``member-commit`` (one member's
checkpoint committed, not yet the others'), ``scoring`` (training ended, scores not yet
written) and ``report`` (report.md written, not yet the rest).
"""

from __future__ import annotations

import os
import signal

_passed: dict[str, int] = {}


def hit(point: str) -> None:
    spec = os.environ.get("GANSTUDY_FAULT")
    if not spec:
        return
    for item in spec.split(","):
        name, _, rest = item.strip().partition("@")
        count, _, whom = rest.partition(":")
        if name != point:
            continue
        _passed[point] = _passed.get(point, 0) + 1
        if _passed[point] != int(count or 1) or not _first_to_fire():
            continue
        os.kill(os.getppid() if whom == "parent" else os.getpid(), signal.SIGKILL)


def _first_to_fire() -> bool:
    once = os.environ.get("GANSTUDY_FAULT_ONCE")
    if not once:
        return True
    try:
        os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
