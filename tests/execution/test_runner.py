"""ganstudy run: complete, skip, share, resume after SIGKILL, redo corrupt folders, retry failures."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import run_weights, same_weights, tiny, weight_gap, write_tiny_study

from ganstudy.base.errors import GanstudyError
from ganstudy.cli.main import main
from ganstudy.execution.runner import run_study
from ganstudy.spec.settings import SeedRange
from ganstudy.storage.index import StudyStore
from ganstudy.storage.studyfolder import add_seeds, status_rows
from ganstudy.training.trainer import CHECKPOINT

NO_BN_AND_LOG_LESS = """
[[cases]]
id = "no-bn"
set = { "model.g_batchnorm" = false }

[[cases]]
id = "log-less"
set = { "train.log_every" = 10 }
"""


def write_study(tmp_path, iterations=20, checkpoint_every=10, extra=""):
    return write_tiny_study(tmp_path, iterations=iterations, checkpoint_every=checkpoint_every,
                            extra=NO_BN_AND_LOG_LESS + extra)


def run_folders(out):
    return sorted(p.relative_to(out).as_posix() for p in out.glob("runs/*/*"))


def test_study_completes_then_has_nothing_to_do(tmp_path, capsys):
    study, out = write_study(tmp_path), tmp_path / "out"
    first = run_study(study, out, live=False)
    assert first.runs == 6 and first.counts == {"complete": 6} and not first.nothing_to_do
    # The presentation-only case shares the baseline's runs: 3 training cases x 2 seeds folders.
    assert len(run_folders(out)) == 6 and not (out / "runs" / "log-less").exists()
    assert (out / "study.toml").read_text() == study.read_text()
    assert main(["run", str(study), "--out", str(out)]) == 0
    assert "Nothing to do: all 6 runs" in capsys.readouterr().out
    assert main(["run", str(out)]) == 0  # the folder alone continues the same study
    assert "Nothing to do" in capsys.readouterr().out
    _, rows = status_rows(out)
    assert len(rows) == 8 and {r["state"] for r in rows} == {"complete"}
    assert [r["note"] for r in rows if r["case"] == "log-less"] == ["shares baseline seed 0", "shares baseline seed 1"]


def test_index_is_rebuilt_from_the_run_folders(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    (out / "index.sqlite").unlink()
    assert StudyStore(out).rebuild_index() == 6
    assert {r.status for r in StudyStore(out).all_runs()} == {"complete"}
    assert run_study(study, out, live=False).nothing_to_do


def test_sigkill_mid_study_loses_nothing_and_resumes_exactly(tmp_path):
    study = write_study(tmp_path, iterations=300, checkpoint_every=25)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ganstudy.cli.main", "run", str(study), "--quiet", "--seeds", "1"]
    victim = subprocess.Popen(cmd + ["--out", str(tmp_path / "killed")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = tmp_path / "killed" / "runs" / "baseline"
    deadline = time.time() + 120
    while time.time() < deadline:
        states = [json.loads(p.read_text()) for p in status.glob("*/status.json")] if status.exists() else []
        if any(s["iteration"] >= 100 for s in states):
            break
        time.sleep(0.05)
    else:
        victim.kill()
        pytest.fail("the study never reached iteration 100")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed = tmp_path / "killed"
    for path in killed.rglob("*.json"):
        json.loads(path.read_text())  # no torn JSON
    for ckpt in killed.rglob("last.pt"):
        torch.load(ckpt, weights_only=True)  # no torn checkpoint
    # Running again finishes the study; the killed run continued from its checkpoint.
    subprocess.run(cmd + ["--out", str(killed)], env=env, check=True, capture_output=True)
    subprocess.run(cmd + ["--out", str(tmp_path / "straight")], env=env, check=True, capture_output=True)
    assert run_folders(killed) == run_folders(tmp_path / "straight")
    for folder in run_folders(killed):
        assert same_weights(run_weights(killed / folder), run_weights(tmp_path / "straight" / folder)), folder
        rows = [json.loads(line) for line in (killed / folder / "metrics.jsonl").read_text().splitlines()]
        assert [r["iteration"] for r in rows] == list(range(0, 300, 5)) + [299]


def test_corrupt_and_half_written_run_folders_are_redone(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    reference = {f: run_weights(out / f) for f in run_folders(out)}
    a, b, c = (out / f for f in run_folders(out)[:3])
    (a / "result.json").write_text('{"status": "compl')  # torn result
    (a / CHECKPOINT).write_bytes((a / CHECKPOINT).read_bytes()[:1000])  # torn checkpoint
    (b / "result.json").unlink()  # ended but never recorded: resumes at the end from its checkpoint
    (b / "checkpoints" / ".last.pt.abc.tmp").write_bytes(b"half a checkpoint")
    for p in list(c.iterdir()):  # a folder with nothing in it but a config
        if p.name != "config.json":
            p.unlink() if p.is_file() else None
    summary = run_study(study, out, live=False)
    assert summary.counts == {"complete": 3} and summary.skipped == 3
    assert not list(out.rglob("*.tmp"))
    for folder, expected in reference.items():
        if out / folder in (a, c):  # redone alone (its seed group had ended): the same run up to float rounding
            assert weight_gap(run_weights(out / folder), expected) < 1e-4, folder
        else:
            assert same_weights(run_weights(out / folder), expected), folder


def test_a_failing_run_is_recorded_retried_and_given_up(tmp_path, capsys):
    extra = '\n[[cases]]\nid = "broken"\nset = { "data.limit" = 8, "train.epochs" = 1, "train.batch_size" = 16 }\n'
    study, out = write_study(tmp_path, extra=extra), tmp_path / "out"
    summary = run_study(study, out, live=False)
    assert summary.counts == {"complete": 6, "failed": 2}
    store = StudyStore(out)
    failed = [r for r in store.all_runs() if r.status == "failed"]
    assert len(failed) == 2 and all("8 training images" in r.error and r.attempts == 1 for r in failed)
    assert "GanstudyError" in (out / failed[0].path / "error.txt").read_text()
    assert run_study(study, out, live=False).counts == {"failed": 2}  # retried, the rest skipped
    run_study(study, out, live=False)
    last = run_study(study, out, live=False)  # 3 attempts made: given up, with the reason
    assert last.counts == {} and len(last.gave_up) == 2 and "8 training images" in last.gave_up[0]
    assert main(["run", str(out)]) == 1
    err = capsys.readouterr().err
    assert "gave up" in err and "--retry-failed" in err
    again = run_study(out, live=False, retry_failed=True)  # the cause fixed (or not): new attempts
    assert again.counts == {"failed": 2} and not again.gave_up


def test_the_environment_is_checked_before_anything_trains(tmp_path, capsys):
    extra = '\n[[cases]]\nid = "no-data"\nset = { "data.extra" = ["nowhere/missing.mat"] }\n'
    study, out = write_study(tmp_path, extra=extra), tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "[case no-data] nowhere/missing.mat: no such file" in err and "Nothing was trained" in err
    assert not list(out.glob("runs/*/*/checkpoints")) and all(r.attempts == 0 for r in StudyStore(out).all_runs())


def test_two_runners_on_one_study_are_refused(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    store = StudyStore(out)
    with store.lock():
        with pytest.raises(GanstudyError, match=r"is being run by pid \d+"):
            run_study(study, out, live=False)
    # A lock file left by a dead process holds no lock: it is taken over.
    (out / ".lock").write_text("pid 999999 on elsewhere since yesterday")
    assert run_study(study, out, live=False).counts == {"complete": 6}


def test_two_workers_give_the_same_runs_as_one(tmp_path):
    study = write_study(tmp_path)
    run_study(study, tmp_path / "one", live=False)
    summary = run_study(study, tmp_path / "two", workers=2, live=False)
    assert summary.counts == {"complete": 6}
    for folder in run_folders(tmp_path / "one"):
        assert same_weights(run_weights(tmp_path / "one" / folder), run_weights(tmp_path / "two" / folder)), folder


def test_add_seeds_and_new_cases_extend_without_redoing(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    before = {f: (out / f / "result.json").stat().st_mtime_ns for f in run_folders(out)}
    (out / "study.toml").write_text("# my notes\n" + (out / "study.toml").read_text())
    # a second look: adaptive from 2 to 3 seeds, the first look as it was seen (the baseline as many as the cases)
    assert add_seeds(out, 1) == SeedRange(min=2, max=3, baseline=1)
    text = (out / "study.toml").read_text()
    assert text.startswith("# my notes\n") and "seeds = {min = 2, max = 3, baseline = 1.0} # set by ganstudy add-seeds 1" in text
    summary = run_study(out, live=False)
    third = summary.counts.get("complete", 0)  # a 3rd seed for the baseline and each case not decided at 2
    assert summary.skipped == 6 and third in (0, 2, 3) and summary.runs == 6 + third
    study.write_text(study.read_text() + '\n[[cases]]\nid = "batch-8"\nset = { "train.batch_size" = 8 }\n')
    summary = run_study(study, out, seeds=3, live=False)
    assert summary.skipped == 6 + third and summary.counts == {"complete": 9 - 6 - third + 3}
    assert all((out / f / "result.json").stat().st_mtime_ns == t for f, t in before.items())


def test_finetune_starts_from_the_runs_weights(tmp_path, capsys):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    source = out / run_folders(out)[0]
    target = tmp_path / "ft"
    code = main(["finetune", str(source), "--set", "optim.lr=0.00005", "--iterations", "6", "--out", str(target)])
    assert code == 0, capsys.readouterr().err
    described = json.loads((target / "config.json").read_text())
    assert described["finetuned_from"]["run_hash"] == json.loads((source / "config.json").read_text())["run_hash"]
    assert described["config"]["optim"]["lr"] == 0.00005 and described["total_iterations"] == 6
    rows = [json.loads(line) for line in (target / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["lr_g"] == 0.00005
    # It continued the source's weights: its Adam step count went on from the source's.
    ckpt = torch.load(target / CHECKPOINT, weights_only=True)
    src = torch.load(source / CHECKPOINT, weights_only=True)
    assert next(iter(ckpt["opt_g"]["state"].values()))["step"] == next(iter(src["opt_g"]["state"].values()))["step"] + 6
    assert main(["finetune", str(source), "--set", "model.g_widths=[8, 8]", "--out", str(tmp_path / "bad")]) == 2
    assert "shapes" in capsys.readouterr().err


def test_promote_writes_the_next_version(tmp_path, capsys):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    assert main(["promote", str(out), "lr-high"]) == 0
    from ganstudy.spec.study import load_study

    old = load_study(out / "study.toml")
    new = load_study(out / "tiny-v2.toml")
    assert new.meta.name == "tiny-v2"
    assert new.case("baseline").config.run_hash() == old.case("lr-high").config.run_hash()
    back = [c for c in new.cases if c.id.startswith("back-to")][0]
    assert back.config.run_hash() == old.case("baseline").config.run_hash()
    assert {c.id for c in new.cases} == {"baseline", back.id, "no-bn", "log-less"}
    # Pointed at the same store, the new version reuses every run that trains alike.
    summary = run_study(out / "tiny-v2.toml", out, live=False)
    assert summary.skipped == 4 and summary.counts == {"complete": 2}


def test_new_scoring_settings_rescore_without_retraining(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    mtimes = {f: (out / f / "checkpoints" / "last.pt").stat().st_mtime_ns for f in run_folders(out)}
    summary = run_study(study, out, live=False, overrides=["eval.samples=150"])
    assert summary.counts == {"complete": 6}  # every run scored again...
    for f, t in mtimes.items():  # ...and none trained again
        assert (out / f / "checkpoints" / "last.pt").stat().st_mtime_ns == t
        assert json.loads((out / f / "result.json").read_text())["protocol"]["generated"] == 150
    assert run_study(out, live=False).nothing_to_do  # the folder remembers the new settings


def test_a_cases_seeds_train_as_one_group_split_to_fill_the_workers(tmp_path):
    from ganstudy.execution.runner import group_seeds
    from ganstudy.execution.tasks import RunTask
    from ganstudy.spec.study import with_seed

    def tasks(**keys):
        return [RunTask(f"h{lr}-{s}", f"lr{lr}", s, with_seed(tiny(**{"optim.lr": lr}, **keys), s).model_dump(mode="json"),
                        str(tmp_path / f"{lr}-{s}")) for lr in (1e-3, 2e-3) for s in range(5)]

    def sizes(jobs):
        return sorted(len(job.runs) for job in jobs)

    assert sizes(group_seeds(tasks(), 1)) == [10]  # two cases that differ only in lr stack as one
    assert {r.case_id for r in group_seeds(tasks(), 1)[0].runs} == {"lr0.001", "lr0.002"}
    wider = tasks()[:5] + [RunTask(t.run_hash + "w", t.case_id + "w", t.seed,
                                   with_seed(tiny(**{"model.g_widths": [64, 64]}), t.seed).model_dump(mode="json"),
                                   t.run_dir + "w") for t in tasks()[:5]]
    assert sizes(group_seeds(wider, 1)) == [5, 5]  # other shapes: a stack of their own
    assert sizes(group_seeds(tasks(), 4)) == [2, 2, 3, 3]  # halves, so that every worker has a group
    assert sizes(group_seeds(tasks(), 16)) == [1] * 10 and not any(j.members for j in group_seeds(tasks(), 16))
    assert sizes(group_seeds(tasks(**{"train.vectorize_seeds": False}), 1)) == [1] * 10
    assert sizes(group_seeds(tasks(**{"model.arch": "dcgan"}), 1)) == [1] * 10  # a CPU: grouped convs do not pay


def test_a_study_trains_its_seeds_batched_and_says_so(tmp_path):
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    described = {f: json.loads((out / f / "config.json").read_text()) for f in run_folders(out)}
    stacked = [d for f, d in described.items() if f.startswith(("runs/baseline/", "runs/lr-high/"))]
    assert len(stacked) == 4  # the baseline's seeds and lr-high's (it changes only the lr) in one stack
    for mine in stacked:
        assert sorted(mine["seed_batched_with"]) == sorted(d["run_hash"] for d in stacked if d is not mine)
    from ganstudy.report.write import write_report

    res, folder = write_report(out)
    assert "stacked with 3 other runs" in (folder / "report.md").read_text()
    walls = {}  # a stack's members end together: its time counts once (its slowest member's)
    for f in run_folders(out):
        together = frozenset([described[f]["run_hash"], *(described[f]["seed_batched_with"] or [])])
        wall = json.loads((out / f / "result.json").read_text())["wall_seconds"]
        walls[together] = max(walls.get(together, 0.0), wall)
    assert res.provenance["total_train_seconds"] == pytest.approx(sum(walls.values()), abs=0.2)
    phases = {f: json.loads((out / f / "result.json").read_text())["phases"] for f in run_folders(out)}
    groups = {}  # each stack's steps once, every run's scoring and the rest
    for f, p in phases.items():
        groups[frozenset([described[f]["run_hash"], *(described[f]["seed_batched_with"] or [])])] = p["steps"]
    total = sum(groups.values()) + sum(sum(v for k, v in p.items() if k != "steps") for p in phases.values())
    cost = res.provenance["cost (runs that recorded it)"]
    assert cost.startswith(f"{total:.0f} s of process time: training steps {sum(groups.values()):.0f} s"), cost


def test_workers_auto_is_one_process_a_core_and_bad_counts_are_refused(tmp_path, capsys):
    from ganstudy.execution.runner import auto_workers
    from ganstudy.execution.tasks import worker_threads

    cores = worker_threads(1)
    assert auto_workers(100, "cpu") == cores and auto_workers(1, "cpu") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(write_study(tmp_path)), "--workers", "0"])
    assert exit_.value.code == 2
    assert "give a whole number of workers (1 or more) or auto" in capsys.readouterr().err


def test_a_run_has_one_writer_and_status_knows_who(tmp_path, capsys):
    """A run another process is training (it holds the run's lock) shows as running, and is
    not trained beside it; once the lock is free the study goes on."""
    from ganstudy.storage.index import run_lock

    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    folder = out / run_folders(out)[0]
    (folder / "result.json").unlink()  # as if interrupted: its checkpoint is there, its result not yet
    state = lambda: {(r["case"], r["seed"]): r["state"] for r in status_rows(out)[1]}  # noqa: E731
    assert "interrupted" in state().values()
    with run_lock(folder):  # another process is training it
        assert "running" in state().values()
        summary = run_study(out, live=False)
        assert summary.counts == {"busy": 1} and "is being trained by pid" in summary.busy[0]
    assert run_study(out, live=False).counts == {"complete": 1}


def test_a_case_fine_tuned_seed_by_seed_as_a_study_step(tmp_path, capsys):
    """The second write-up's "select the best model and fine-tune it": every seed of a case
    continues from its own checkpoint as a new case of the study, compared with that case."""
    study, out = write_study(tmp_path), tmp_path / "out"
    run_study(study, out, live=False)
    assert main(["finetune", str(out), "lr-high", "--set", "optim.lr=0.0005", "--iterations", "6", "--quiet"]) == 0
    text = (out / "study.toml").read_text()
    assert 'finetune_from = "lr-high"' in text and 'id = "lr-high-finetuned"' in text
    for seed in (0, 1):
        tuned = next((out / "runs" / "lr-high-finetuned").glob(f"{seed}-*"))
        described = json.loads((tuned / "config.json").read_text())
        source = next((out / "runs" / "lr-high").glob(f"{seed}-*"))  # the same seed's run of lr-high
        assert described["finetuned_from"]["run_hash"] == json.loads((source / "config.json").read_text())["run_hash"]
        assert described["total_iterations"] == 6 and described["config"]["optim"]["lr"] == 0.0005
        steps = lambda d: next(iter(torch.load(d / CHECKPOINT, weights_only=True)["opt_g"]["state"].values()))["step"]  # noqa: E731
        assert steps(tuned) == steps(source) + 6  # it continued the source's Adam, not a fresh one
    report = (out / "report" / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| lr-high-finetuned:"))
    assert "continues lr-high, seed by seed; compared with it" in row and "(lr-high)" in row
    assert run_study(out, live=False).nothing_to_do  # its runs are found again by their identity
    capsys.readouterr()
    assert main(["finetune", str(out), "nope", "--set", "optim.lr=0.001"]) == 2
    assert "no case 'nope'" in capsys.readouterr().err
    assert main(["finetune", str(out), "lr-high"]) == 2
    assert "give the new settings" in capsys.readouterr().err


def test_run_options_are_one_value_and_a_misspelt_option_is_refused(tmp_path):
    """``run_study(path, out, RunOptions(...))`` or the same fields as keywords; a keyword
    that names no option is a TypeError before anything is opened or written."""
    from dataclasses import replace

    from ganstudy.execution.runner import RunOptions

    options = RunOptions(workers=2, device="cpu")
    assert replace(options, workers=1) == RunOptions(workers=1, device="cpu")
    with pytest.raises(TypeError):
        RunOptions(2)  # keywords only: fourteen options are not read by position
    with pytest.raises(TypeError, match="wokers"):
        run_study(tmp_path / "missing.toml", tmp_path / "out", options, wokers=1)
    assert not (tmp_path / "out").exists()
