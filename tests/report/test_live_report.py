"""The live report: rewritten as runs end and marked partial until every run has ended;
cheap (a rewrite redraws only what changed); ``report --watch`` follows a study that runs
in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from conftest import REPO, write_tiny_study

from ganstudy.execution.runner import run_study
from ganstudy.report import figures
from ganstudy.report.live import LiveReport, watch
from ganstudy.report.write import is_current, write_report

TWO_CASES = """
[[cases]]
id = "no-bn"
set = { "model.g_batchnorm" = false }
"""


def test_the_report_is_rewritten_as_runs_end_and_marked_partial(tmp_path):
    study = write_tiny_study(tmp_path, iterations=10, extra=TWO_CASES)
    seen: list[str] = []
    live = LiveReport(min_interval=0.0, share=1e9)  # every run's end (a real study spaces them out)

    def on_run_end(folder):
        live(folder)
        seen.append((folder / "report" / "report.md").read_text())

    run_study(study, tmp_path / "out", workers=1, live=False, on_run_end=on_run_end,
              overrides=["train.vectorize_seeds=false"])
    assert len(seen) == 6  # 3 cases x 2 seeds, one run at a time
    assert "**Partial: 1 of 6 runs have ended." in seen[0]
    assert "**Partial: 5 of 6 runs have ended." in seen[4]
    assert "Partial" not in seen[5]  # the last one is the whole study's report
    assert "not analysed yet" in seen[0] and "not analysed yet" not in seen[5]


def test_a_rewrite_redraws_only_the_cases_whose_runs_changed(tmp_path, monkeypatch):
    study = write_tiny_study(tmp_path, iterations=10, extra=TWO_CASES)
    out = tmp_path / "out"
    run_study(study, out, workers=1, live=False)
    drawn: list[str] = []
    original = figures._curves
    monkeypatch.setattr(figures, "_curves", lambda res, case: drawn.append(case) or original(res, case))
    figures._DRAWN.clear()
    write_report(out)
    assert sorted(drawn) == ["lr-high", "no-bn"]
    drawn.clear()
    write_report(out)
    assert drawn == []  # nothing changed: nothing redrawn
    log = next(out.glob("runs/no-bn/*/metrics.jsonl"))
    log.write_text(log.read_text())  # one case's run wrote again
    os.utime(log, ns=(time.time_ns(), time.time_ns() + 10**9))
    write_report(out)
    assert drawn == ["no-bn"]


def test_watch_follows_a_study_running_in_another_process(tmp_path):
    study = write_tiny_study(tmp_path, iterations=120, checkpoint_every=60, extra=TWO_CASES)
    out = tmp_path / "out"
    env = {**os.environ, "GANSTUDY_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "ganstudy.cli.main", "run", str(study), "--out", str(out), "--workers",
                             "1", "--quiet", "--set", "train.vectorize_seeds=false"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out / "study.json").is_file() and time.time() < deadline:
            time.sleep(0.1)
        said: list[str] = []
        assert watch(out, every=0.2, say=said.append, rounds=3000) == 0
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert any("report written (Partial: " in line for line in said), said
    assert "report written (complete: " in said[-1] or "the study has ended" in said[-1], said
    assert "Partial" not in (out / "report" / "report.md").read_text()


def test_a_rewrite_held_back_is_written_at_the_next_tick(tmp_path):
    """Runs that end together (a round's last ones) are all in the report soon after, not only
    when the next run ends minutes later."""
    study = write_tiny_study(tmp_path, iterations=10)
    out = tmp_path / "out"
    run_study(study, out, workers=1, live=False)
    live = LiveReport(min_interval=0.5, share=1e9)
    live(out)
    assert is_current(out) and not live.pending
    (next(out.glob("runs/lr-high/*/result.json"))).unlink()  # its result changed (another run ended)
    live(out)  # too soon after the last rewrite: held back
    assert live.pending and not is_current(out)
    live.tick(out)
    assert live.pending and not is_current(out)  # still too soon
    time.sleep(0.6)
    live.tick(out)
    assert not live.pending and is_current(out)
