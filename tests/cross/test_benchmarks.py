"""The benchmark scripts run (tiny sizes): a script that no longer runs measures nothing.
Their figures are not asserted here (timings are not tests); what they compute is."""

import importlib.util
import subprocess
import sys

from conftest import REPO, write_tiny_study


def _script(name: str):
    sys.path.insert(0, str(REPO / "benchmarks"))  # the scripts import their siblings
    try:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_a_whole_study_on_one_device_groups_and_times_every_run(tmp_path, capsys):
    """The GPU study script on a CPU, the same code path: the seeds of the baseline and of a
    learning-rate case stack into one model, a wider case is a group of its own."""
    study = write_tiny_study(tmp_path, extra='[[cases]]\nid = "wider"\nset = { "model.g_widths" = [64, 64] }\n')
    rows = _script("study_on_device").main([str(study), "--device", "cpu", "--iterations", "2"])
    assert [(r["cases"], r["members"], r["stacked"]) for r in rows] == [
        (["baseline", "lr-high"], 4, True), (["wider"], 2, True)]
    assert all(r["projected_s"] > 0 and r["iterations"] == 20 for r in rows)
    out = capsys.readouterr().out
    assert "6 runs in 2 groups" in out and "projected: the whole study" in out


def test_the_limits_benchmark_records_every_gemm_of_a_step():
    limits = _script("limits")
    import torch

    record = limits.RecordGemms()
    a, w = torch.randn(4, 3), torch.randn(5, 3, requires_grad=True)
    with record:
        torch.nn.functional.linear(a, w).sum().backward()
    assert len(record.calls) == 2  # forward, and the weight's gradient (the input needs none)
    seconds, flop = limits.gemm_floor(record.calls, repeats=2)
    assert seconds > 0 and flop == 2 * (2 * 4 * 3 * 5)


def test_the_overheads_benchmark_reads_the_phases_of_a_real_run(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "overheads.py"), "--iterations", "10",
                           "--repeats", "1", "--set", "eval.samples=500", "--set", "eval.curve_samples=500",
                           "--set", "data.dataset=mnist-mini", "--set", "data.holdout=500"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for phase in ("a torch process (start, import, exit)", "set-up", "steps", "curve", "scoring", "overhead (all but the steps)"):
        assert phase in done.stdout, phase
