"""A disk that fills during a study, for real: a small tmpfs the test mounts, filled to the
last byte while the study trains, then freed. The study stops with one paragraph (no
traceback), ``status`` and ``report`` still answer, and once space is back the same command
finishes with results equal to an uninterrupted run's. Where a filesystem cannot be mounted
(not root, no tmpfs), the test is skipped and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_tiny_study

#: Preflight wants 200 MiB free before a study starts; the disk has a little more.
DISK_MIB = 240


@pytest.fixture
def small_disk(tmp_path):
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a real full disk needs a filesystem of its own: mounting one takes root here")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.strip()})")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def ganstudy(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganstudy", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def fill(disk: Path) -> None:
    """Write zeros until the disk refuses a byte more."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (2**20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free < 4096


def metrics(folder: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(folder)): json.loads(p.read_text())["metrics"]
            for p in sorted(folder.glob("runs/*/*/result.json"))}


def test_a_disk_that_fills_mid_study_stops_it_cleanly_and_it_resumes_to_the_same_results(small_disk, tmp_path,
                                                                                        shared_data):
    env = {**os.environ, "GANSTUDY_DATA": str(shared_data), "PYTHONPATH": os.pathsep.join(sys.path)}
    study = write_tiny_study(tmp_path, iterations=400, checkpoint_every=10)
    out = small_disk / "study"
    runner = subprocess.Popen([sys.executable, "-m", "ganstudy", "run", str(study), "--out", str(out), "--quiet",
                               "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while not list(out.glob("runs/*/*/checkpoints/last.pt")) and time.time() < deadline and runner.poll() is None:
        time.sleep(0.05)
    assert runner.poll() is None, "the study ended before the disk could be filled"
    fill(small_disk)
    _, stderr = runner.communicate(timeout=240)
    assert runner.returncode == 2, stderr
    assert "Traceback" not in stderr and stderr.count("ganstudy: error:") == 1, stderr
    assert "the disk is full" in stderr and "run the same command again" in stderr

    looked = ganstudy("status", str(out), env=env)  # the study can still be looked at, on the full disk
    assert looked.returncode == 0 and "Traceback" not in looked.stderr, looked.stderr
    assert "disk" in looked.stderr and "full" in looked.stderr
    reported = ganstudy("report", str(out), env=env)
    assert reported.returncode in (0, 2) and "Traceback" not in reported.stderr, reported.stderr

    (small_disk / "filler").unlink()
    again = ganstudy("run", str(out), "--quiet", "--workers", "1", env=env)  # the same stacks as `whole`
    assert again.returncode == 0, again.stderr
    whole = ganstudy("run", str(study), "--out", str(tmp_path / "whole"), "--quiet", "--workers", "1", env=env)
    assert whole.returncode == 0, whole.stderr
    assert metrics(out) == metrics(tmp_path / "whole") and len(metrics(out)) == 4
