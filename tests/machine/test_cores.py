"""Never oversubscribe: a lone ``ganstudy train`` takes the cores that are free when it starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from ganstudy.cli.main import main
from ganstudy.machine import cores


def test_a_busy_core_is_not_counted_free():
    cpus = cores.allowed()
    if len(cpus) < 2 or not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs two cores and CPU affinity")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(busy.pid, {cpus[-1]})
        time.sleep(0.3)
        free, total = cores.CoreSample().free(0.5)
    finally:
        busy.kill()
        busy.wait()
    assert total == len(cpus) and 1 <= free <= total - 1


def test_a_sample_started_earlier_costs_only_what_is_left_of_it():
    sample = cores.CoreSample()
    time.sleep(0.3)
    started = time.monotonic()
    free, total = sample.free(0.25)
    assert time.monotonic() - started < 0.05 and 1 <= free <= total


def test_train_uses_the_free_cores_or_what_it_is_told(tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[data]\ndataset = "mnist-mini"\nsplit = "test"\nlimit = 64\nholdout = 32\n'
                   '[train]\niterations = 2\nbatch_size = 8\n[eval]\nmetrics = []\n')
    monkeypatch.setattr(cores.CoreSample, "free", lambda self, sample=0.25: (1, 2))
    seen = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n, real=torch.set_num_threads: seen.append(n) or real(n))
    before = torch.get_num_threads()
    assert main(["train", str(cfg), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert seen == [1, before]  # trained on the free core; the caller's setting back afterwards
    err = capsys.readouterr().err
    assert err.startswith("torch threads: 1 (1 of 2 cores free; --threads N to choose)\ndata: ")
    seen.clear()
    assert main(["train", str(cfg), "--out", str(tmp_path / "b"), "--quiet", "--threads", "2"]) == 0
    assert seen == [2, before]
    with pytest.raises(SystemExit):
        main(["train", str(cfg), "--out", str(tmp_path / "c"), "--threads", "0"])
    assert "'0': give a whole number of threads (1 or more) or auto" in capsys.readouterr().err


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_use_threads_sets_the_blas_threads_too():
    """numpy's BLAS (KID, the Fréchet covariances) starts a thread per core unless told: two
    scoring processes on two cores then fight as torch's threads would."""
    before = cores.use_threads(1)
    try:
        assert torch.get_num_threads() == 1 and _blas_threads() == {1}
    finally:
        cores.use_threads(before)
    assert torch.get_num_threads() == before


def test_a_study_worker_computes_with_its_share_of_the_cores():
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ganstudy.execution.local import _init_worker

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker,
                             initargs=(ctx.Queue(), ctx.Event(), 1)) as pool:
        assert pool.submit(_blas_threads).result() == {1}
