"""Fault injection: a study killed at chosen points (SIGKILL, through ganstudy.base.faults), then
run again, ends with every run bit for bit equal to an uninterrupted reference, a report
that is complete and current, and no process of the killed study left alive."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_weights, same_weights, write_tiny_study

from ganstudy.execution.runner import run_study
from ganstudy.report.write import FILES, is_current

#: (fault, worker processes, how the first invocation ends: "killed" or "completes")
FAULTS = {
    "mid-training": ("member-checkpoint@3", 1, "killed"),
    "between-members-checkpoints": ("member-checkpoint@1", 1, "killed"),
    "between-members-commits": ("member-commit@2", 1, "killed"),
    "during-scoring": ("scoring", 1, "killed"),
    "during-report": ("report", 1, "killed"),
    "only-the-parent": ("member-checkpoint@2:parent", 2, "killed"),
    "one-worker": ("member-checkpoint@2", 2, "completes"),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults-reference")
    study = write_tiny_study(tmp, "faults", iterations=40, checkpoint_every=10)
    run_study(study, tmp / "out", live=False)
    return study, tmp / "out"


def _ganstudy(args, env_extra=None, timeout=300):
    # One torch thread everywhere, as the reference (conftest) and every worker process have:
    # threads change rounding, and a GAN amplifies rounding.
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "ganstudy.cli.main", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def _alive(token: str) -> list[int]:
    """Processes whose environment carries ``token`` (the killed study's, and only theirs)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if token.encode() in (proc / "environ").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def _runs(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.glob("runs/*/*") if p.is_dir())


@pytest.mark.parametrize("name", list(FAULTS))
def test_killed_study_resumes_exactly(name, reference, tmp_path):
    fault, workers, first_ends = FAULTS[name]
    study, ref = reference
    out, once = tmp_path / "out", tmp_path / "fired"
    token = f"GANSTUDY_FAULT_ONCE={once}"
    first = _ganstudy(["run", str(study), "--out", str(out), "--workers", str(workers), "--quiet"],
                      {"GANSTUDY_FAULT": fault, "GANSTUDY_FAULT_ONCE": str(once)})
    assert once.exists(), first.stderr  # the fault fired
    if first_ends == "killed":
        assert first.returncode != 0
    else:
        assert first.returncode == 0, first.stderr
    deadline = time.monotonic() + 10
    while _alive(token) and time.monotonic() < deadline:  # the kernel ends orphans at once; give it a moment
        time.sleep(0.2)
    assert _alive(token) == [], "a process of the killed study is still alive"

    # The same command again (the same --workers: how runs group into seed batches, and so their
    # float rounding, follows the worker count). A "report" fault now fires in the live report,
    # after the first runs have ended: a kill between runs, mid-study.
    again = _ganstudy(["run", str(out), "--quiet", "--workers", str(workers)])
    assert again.returncode == 0, again.stderr
    assert _runs(out) == _runs(ref)
    for run in _runs(ref):
        assert same_weights(run_weights(out / run), run_weights(ref / run)), run
        mine, theirs = (json.loads((d / run / "result.json").read_text()) for d in (out, ref))
        timeless = lambda final: {k: v for k, v in final.items() if k != "seconds"}  # noqa: E731 - wall time differs
        assert mine["metrics"] == theirs["metrics"] and timeless(mine["final"]) == timeless(theirs["final"]), run
    assert is_current(out) and all((out / "report" / f).is_file() for f in FILES)
