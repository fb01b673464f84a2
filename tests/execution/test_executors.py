"""One conformance suite, run against every executor: local in-process, local with worker
processes, and Ray on a local instance (2 CPUs). Plus what only Ray has: a killed worker."""

import json
import os
import signal
import threading
import time

import pytest
from conftest import need_ray, run_weights, same_weights, write_tiny_study

from ganstudy.execution.runner import run_study
from ganstudy.storage.index import StudyStore

#: A case that fails while it trains (a batch larger than its 8 images), not before (preflight.py).
BROKEN = ('\n[[cases]]\nid = "broken"\nset = { "data.limit" = 8, "train.epochs" = 1, "train.batch_size" = 16 }\n')

EXECUTORS = {
    "local": ("local", {"workers": 1}),
    "local-processes": ("local", {"workers": 2}),
    "ray": ("ray", {"cpus_per_run": 1}),
}
RAY = [pytest.param(name, marks=pytest.mark.ray) if name == "ray" else name for name in EXECUTORS]


@pytest.fixture(scope="module")
def ray_instance():
    ray = need_ray()
    if ray.is_initialized():  # a study earlier in this process kept its local Ray (as the executor does): this one's own
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"GANSTUDY_OFFLINE": "1", "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


@pytest.fixture(params=RAY)
def executor(request):
    name, options = EXECUTORS[request.param]
    if name == "ray":
        request.getfixturevalue("ray_instance")
    return name, options


def write(tmp_path, iterations=20, checkpoint_every=10, extra=""):
    return write_tiny_study(tmp_path, "conformance", iterations, checkpoint_every, extra, file="study.toml")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The study run in this process, one thread: every executor must give these weights."""
    tmp = tmp_path_factory.mktemp("reference")
    study = write(tmp)
    run_study(study, tmp / "out", live=False)
    return tmp / "out"


def folders(out):
    return sorted(p.relative_to(out).as_posix() for p in out.glob("runs/*/*"))


def test_completes_with_the_same_results_then_has_nothing_to_do(executor, tmp_path, reference):
    name, options = executor
    study, out = write(tmp_path), tmp_path / "out"
    summary = run_study(study, out, executor=name, executor_options=options, live=False)
    assert summary.counts == {"complete": 4}
    assert folders(out) == folders(reference)
    for folder in folders(out):  # bitwise: same seeds, same threads, any executor
        assert same_weights(run_weights(out / folder), run_weights(reference / folder)), folder
        assert json.loads((out / folder / "result.json").read_text())["metrics"]["fid"] == \
            json.loads((reference / folder / "result.json").read_text())["metrics"]["fid"]
    again = run_study(study, out, executor=name, executor_options=options, live=False)
    assert again.nothing_to_do and again.counts == {}


def test_a_failing_run_is_an_outcome(executor, tmp_path):
    name, options = executor
    study, out = write(tmp_path, extra=BROKEN), tmp_path / "out"
    summary = run_study(study, out, executor=name, executor_options=options, live=False)
    assert summary.counts == {"complete": 4, "failed": 2}
    failed = [r for r in StudyStore(out).all_runs() if r.status == "failed"]
    assert len(failed) == 2 and all("larger than the 8 training images" in r.error for r in failed)


def test_interrupted_run_resumes_under_any_executor(executor, tmp_path, reference):
    """A seed group left half-done by Ctrl-C (checkpoints at iteration 10, no result) is continued,
    bitwise as if it had never stopped."""
    from ganstudy.spec.study import load_study, with_seed
    from ganstudy.training.stack import train_stack

    name, options = executor
    study, out = write(tmp_path), tmp_path / "out"
    cfgs = [with_seed(load_study(study).case("baseline").config, seed) for seed in (0, 1)]
    dirs = [out / StudyStore.folder_for("baseline", c.train.seed, c.run_hash()) for c in cfgs]

    def ctrl_c_at_10(done, total, row):
        if done == 10:
            os.kill(os.getpid(), signal.SIGINT)

    results = train_stack(cfgs, dirs, progress=[ctrl_c_at_10, None])
    assert [r.status for r in results] == ["interrupted", "interrupted"]
    assert [r.iterations for r in results] == [10, 10]
    summary = run_study(study, out, executor=name, executor_options=options, live=False)
    assert summary.skipped == 0 and summary.counts == {"complete": 4}
    for folder in folders(out):
        assert same_weights(run_weights(out / folder), run_weights(reference / folder)), folder


def test_ctrl_c_at_the_driver_alone_stops_the_workers_runs(executor, tmp_path):
    """``kill -INT`` of ``ganstudy run`` only (not its process group): the runs its workers
    train (in worker processes: a shared flag; on Ray: its cancel) save a checkpoint where
    they stand and stop, in seconds, instead of training to the end."""
    name, options = executor
    study, out = write(tmp_path, iterations=30_000, checkpoint_every=30_000), tmp_path / "out"

    def interrupt_once_training() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for log in out.glob("runs/*/*/metrics.jsonl"):  # a line every 5 iterations
                if log.read_bytes().count(b"\n") >= 10:
                    os.kill(os.getpid(), signal.SIGINT)  # this process is the driver; workers are not told
                    return
            time.sleep(0.05)

    watcher = threading.Thread(target=interrupt_once_training, daemon=True)
    watcher.start()
    start = time.monotonic()
    summary = run_study(study, out, executor=name, executor_options=options, live=False)
    stopped_after = time.monotonic() - start
    watcher.join()
    assert summary.interrupted and summary.counts.get("interrupted", 0) >= 1
    runs = StudyStore(out).all_runs()
    assert {r.status for r in runs} <= {"interrupted", "pending"} and stopped_after < 30  # unstopped, the runs take minutes
    stood = []
    for rec in runs:
        if rec.status == "interrupted":  # stopped where it stood, with a checkpoint to resume from
            status = json.loads((StudyStore(out).run_dir(rec) / "status.json").read_text())
            assert status["iteration"] < 30_000
            stood.append(status["iteration"])
            if options.get("workers", 1) > 1:  # told by the study's flag, not by a Ctrl-C of its own
                assert status["reason"].startswith("stopped with its study (ganstudy run was stopped)")
            if status["iteration"] > 0:  # a run still starting (a busy machine) stops before its first step
                assert list(StudyStore(out).run_dir(rec).glob("checkpoint*"))
    assert max(stood) > 0  # the runs the watcher saw training stopped mid-way


@pytest.mark.ray
def test_ray_without_a_shared_filesystem_ships_run_folders(ray_instance, tmp_path, reference):
    study, out = write(tmp_path), tmp_path / "out"
    summary = run_study(study, out, executor="ray", executor_options={"shared_fs": False}, live=False)
    assert summary.counts == {"complete": 4}
    for folder in folders(out):
        assert (out / folder / "checkpoints" / "last.pt").is_file() and (out / folder / "samples").is_dir()
        assert same_weights(run_weights(out / folder), run_weights(reference / folder)), folder


@pytest.mark.ray
def test_a_killed_ray_worker_is_retried_and_the_study_completes(ray_instance, tmp_path):
    study, out = write(tmp_path, iterations=400, checkpoint_every=20), tmp_path / "out"
    killed = {}

    def kill_a_worker():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for status in out.glob("runs/*/*/status.json"):
                try:
                    st = json.loads(status.read_text())
                except (json.JSONDecodeError, FileNotFoundError):
                    continue
                if st.get("state") == "running" and st.get("iteration", 0) >= 60:
                    os.kill(st["pid"], signal.SIGKILL)
                    killed.update(path=status.parent, iteration=st["iteration"])
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    summary = run_study(study, out, executor="ray", executor_options={}, live=False)
    killer.join()
    assert killed, "no worker reached iteration 60"
    assert summary.counts == {"complete": 4}
    rows = [json.loads(line) for line in (killed["path"] / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(0, 400, 5)) + [399]  # resumed, no gap, no repeat


def test_ray_missing_is_a_clear_error(monkeypatch, tmp_path, capsys):
    import sys

    from ganstudy.cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main(["run", str(write(tmp_path)), "--out", str(tmp_path / "out"), "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'ganstudy[ray]'" in err and "Traceback" not in err
    assert main(["run", str(write(tmp_path)), "--out", str(tmp_path / "out"), "--gpus-per-run", "1"]) == 2
    assert "options of --executor ray" in capsys.readouterr().err
