"""Verdicts a real tiny study reaches, and seeds that go where the doubt is: a learning rate
too small to learn against one that learns, next to a change that does not matter."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ganstudy.cli.main import main
from ganstudy.execution.runner import run_study
from ganstudy.report.write import write_report
from ganstudy.storage.studyfolder import status_rows

STUDY = """
[study]
name = "{name}"
seeds = {seeds}
equivalence = 0.01

[baseline]
data.dataset = "mnist-mini"
data.split = "test"
data.limit = 1000
data.holdout = 300
eval.samples = 300
eval.curve_points = 0
model.g_widths = [32, 64]
model.d_widths = [64, 32]
model.latent_dim = 16
optim.lr = 0.002
train.iterations = 500
train.batch_size = 32
train.log_every = 50
train.sample_every = 1000
train.checkpoint_every = 100
train.vectorize_seeds = false

[[cases]]
id = "lr-1e-9"
title = "A learning rate too small to learn anything"
expect = "worsen"
set = {{ "optim.lr" = 1e-9 }}
{extra}"""

AA = """
[[cases]]
id = "eps-a-a"
title = "Adam's eps 0.01% larger: changes nothing that matters"
expect = "no effect"
set = { "optim.eps" = 1.0001e-7 }
"""


def write(folder: Path, name: str, seeds: str, extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(STUDY.format(name=name, seeds=seeds, extra=extra))
    return path


def verdicts(out: Path) -> dict[str, tuple[str, int]]:
    res, _ = write_report(out, floor=False)
    return {c.case: (c.verdict, c.seeds) for c in res.comparisons[res.primary]}


def test_a_learning_rate_too_small_worsens_by_five_seeds(tmp_path, capsys):
    """lr = 1e-9 learns nothing: every run collapses (its samples are noise, scored as one
    class), against none of the baseline's. The collapse is counted once, by the failure
    test: 5 of 5 against 0 of 5 (Fisher p = 0.008) worsens; 3 of 3 (p = 0.1) cannot."""
    out = tmp_path / "out"
    assert main(["run", str(write(tmp_path, "lr", "5")), "--out", str(out), "--quiet"]) == 0
    v = verdicts(out)
    assert v["lr-1e-9"] == ("worsens", 5)
    # The same runs read as a 3-seed study: whatever it says must be true of the numbers.
    three = tmp_path / "three"
    three.mkdir()
    (three / "runs").symlink_to(out / "runs")
    run_study(write(tmp_path, "lr3", "3"), three, live=False)
    res, folder = write_report(three, floor=False)
    c = res.verdict("lr-1e-9")
    text = (folder / "report.md").read_text()
    assert c.seeds == 3 and c.verdict == "inconclusive" and "Fisher exact p = 0.1" in c.reason
    assert "Losses are not quality" not in text and "no effect" not in res.summary
    assert "lr-1e-9 seed 3" not in text  # the 4th seed is not part of this study


def _run_and_kill_in_round_two(study: Path, out: Path) -> None:
    """`ganstudy run` in its own process group, killed (SIGKILL, every process) once round 2 trains."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganstudy.cli.main", "run", str(study), "--out", str(out), "--quiet"],
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    seen, deadline = [], time.monotonic() + 300
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("round 2") or time.monotonic() > deadline:
            break
    time.sleep(2.0)  # let round 2 get going: some runs mid-training, some done
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(line.startswith("round 2") for line in seen), "".join(seen[-20:])


def test_adaptive_seeds_go_where_the_doubt_is_and_survive_a_kill(tmp_path, capsys):
    study = write(tmp_path, "adaptive", "{ min = 3, max = 5 }", AA)
    ref = tmp_path / "ref"
    summary = run_study(study, ref, live=False, workers=2)
    assert not summary.interrupted
    v = verdicts(ref)
    res, _ = write_report(ref, floor=False)
    futile = res.verdict("eps-a-a").futile
    assert v["lr-1e-9"] == ("worsens", 5) and v["eps-a-a"][0] != "worsens"  # decided at the second look
    # the doubtful case got every seed, or stopped once it could not be decided by 5 (futility)
    assert v["eps-a-a"][1] == 5 or (futile and "could not be decided by 5" in res.verdict("eps-a-a").stopped)
    assert main(["plan", str(study), "--out", str(ref)]) == 0
    assert "the baseline's seed-SD is" in capsys.readouterr().out  # the power in fid, once the baseline has run
    planned = {(r["case"], r["seed"]) for r in status_rows(ref)[1]}
    assert ("lr-1e-9", "5") not in planned and ("baseline", "7") in planned  # the baseline: 1.5x its longest case
    assert (("eps-a-a", "4") in planned) == (v["eps-a-a"][1] == 5)

    killed = tmp_path / "killed"
    _run_and_kill_in_round_two(study, killed)
    assert main(["run", str(killed), "--quiet"]) == 0
    assert verdicts(killed) == v
    for case, (verdict, seeds) in v.items():  # the runs themselves are the same, bit for bit
        for seed in range(seeds):
            a = json.loads(next((ref / "runs" / case).glob(f"{seed}-*/result.json")).read_text())["metrics"]
            b = json.loads(next((killed / "runs" / case).glob(f"{seed}-*/result.json")).read_text())["metrics"]
            assert a == b, (case, seed)
    text = (killed / "report" / "report.md").read_text()
    assert "decided at 5 seeds" in text
    assert ("could not be decided by 5" if futile else "undecided at the most seeds the study allows (5)") in text
