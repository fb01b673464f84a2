"""The command line as a user meets it: the acceptance command and every user mistake."""

import gzip
import os
import re
import subprocess
import sys

import numpy as np
import scipy.io

from ganstudy.cli.main import main


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("ganstudy: error: ")
    assert err.strip().count("\n") == 0, "one paragraph"
    return err


def test_train_command_end_to_end(tmp_path, shared_data):
    """The README's command, as a subprocess through the installed console script."""
    env = {**os.environ, "GANSTUDY_DATA": str(shared_data)}
    out = tmp_path / "r"
    proc = subprocess.run(
        [sys.executable, "-m", "ganstudy.cli.main", "train", "--set", "data.split=test", "--set", "train.iterations=30",
         "--set", "train.sample_every=10", "--set", "eval.samples=500", "--set", "eval.reference_samples=500",
         "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"29 \[D loss: \d+\.\d{6}, acc\.: \d+\.\d{2}%\] \[G loss: \d+\.\d{6}\]\n", proc.stdout)
    assert "mnist test split" in proc.stderr
    # What happens between training steps is said as it happens: the data first, the scores last.
    err = proc.stderr
    assert err.index("data: mnist test split") < err.index("iteration 30/30") < err.index("scoring 500 generated")
    assert "scores against" in err and re.search(r"\n  fid +\d", err) and "(lower is better)" in err
    for name in ("config.json", "metrics.jsonl", "samples/iter_000000.png", "samples/iter_000029.png",
                 "checkpoints/last.pt"):
        assert (out / name).is_file(), name


def test_malformed_toml(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\niterations = 3")
    err = _error(capsys, ["train", str(bad), "--out", str(tmp_path / "r")])
    assert "bad.toml: not valid TOML" in err


def test_unknown_key(tmp_path, capsys):
    err = _error(capsys, ["train", "--set", "optim.learning_rate=0.1", "--out", str(tmp_path / "r")])
    assert "unknown key 'optim.learning_rate'" in err and "Did you mean 'optim.lr'" in err


def test_wrong_type(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[train]\nbatch_size = "large"\n')
    err = _error(capsys, ["train", str(cfg), "--out", str(tmp_path / "r")])
    assert "c.toml: train.batch_size" in err and "integer" in err


def test_missing_dataset_file(tmp_path, capsys):
    err = _error(capsys, ["train", "--set", "data.dataset=fashion-mnist", "--data-root", str(tmp_path),
                          "--out", str(tmp_path / "r")])
    assert "t10k" not in err.split("missing:")[0]
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path / "fashion-mnist") in err
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_truncated_gz(tmp_path, shared_data, capsys):
    (tmp_path / "mnist").mkdir()
    raw = (shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(raw[:5000])
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(gzip.decompress((shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())))
    err = _error(capsys, ["train", "--set", "data.split=test", "--data-root", str(tmp_path), "--out", str(tmp_path / "r")])
    assert "t10k-images-idx3-ubyte.gz: the file is truncated or corrupt" in err


def test_mat_without_image_array(tmp_path, capsys):
    scipy.io.savemat(tmp_path / "labels.mat", {"y": np.arange(5)})
    err = _error(capsys, ["train", "--set", "data.split=test", "--set", f"data.extra=['{tmp_path / 'labels.mat'}']",
                          "--data-root", str(tmp_path), "--out", str(tmp_path / "r")])
    # The MNIST files are missing here too; the first problem met is reported, and it is one of ours.
    assert "labels.mat: no image array" in err or "Dataset files missing" in err
    err = _error(capsys, ["train", "--set", "data.dataset=mat", "--set", f"data.path='{tmp_path / 'labels.mat'}'",
                          "--out", str(tmp_path / "r")])
    assert "labels.mat: no image array" in err


def test_existing_run_needs_resume(tmp_path, capsys):
    argv = ["train", "--set", "data.dataset=mnist-mini", "--set", "data.split=test", "--set", "train.iterations=3",
            "--set", "model.g_widths=[16]", "--set", "model.d_widths=[16]", "--set", "eval.metrics=[]",
            "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    capsys.readouterr()
    err = _error(capsys, argv)
    assert "--resume" in err
    assert main(argv + ["--resume"]) == 0


def test_listing_commands(capsys):
    assert main(["keys", "optim."]) == 0
    out = capsys.readouterr().out
    assert "optim.lr = 0.0002" in out and "data.scale" not in out
    assert main(["archs"]) == 0 and "cits4404-dcgan" in capsys.readouterr().out
    assert main(["datasets"]) == 0 and "fashion-mnist" in capsys.readouterr().out
    assert main(["losses"]) == 0 and "wasserstein" in capsys.readouterr().out


def test_eval_commands(tmp_path, shared_data, capsys):
    from conftest import tiny

    from ganstudy.training.trainer import train

    train(tiny(), tmp_path / "r")
    assert main(["eval", str(tmp_path / "r"), "--set", "eval.samples=300"]) == 0
    out = capsys.readouterr().out
    assert "protocol: mnist-" in out and "/gen300/" in out and "fid" in out and "lower is better" in out
    assert main(["eval", "--real", "mnist", "--data-root", str(shared_data), "--set", "eval.metrics=['fid', 'precision']"]) == 0
    out = capsys.readouterr().out
    assert "two halves of a random split (seed 0) of mnist test (5000 images each)" in out and "precision" in out
    err = _error(capsys, ["eval", str(tmp_path / "nowhere")])
    assert "not a run folder" in err
    err = _error(capsys, ["eval", "--real", "svhn", "--data-root", str(tmp_path)])
    assert "evaluator" in err or "missing" in err


def test_a_finished_study_says_what_it_found_and_keeps_its_report_current(tmp_path, capsys):
    from conftest import write_tiny_study

    study, out = write_tiny_study(tmp_path), tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    report = out / "report" / "report.md"
    made = report.stat().st_mtime_ns
    assert main(["run", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "Nothing to do" in said and f"report: {out / 'report' / 'report.html'}" in said
    assert said.splitlines()[0].endswith(".")  # the report's one sentence: what the study found
    assert report.stat().st_mtime_ns == made  # current: not written again
    (out / "report" / ".inputs").unlink()  # as if killed while writing it
    (out / "report" / "report.html").unlink()
    assert main(["run", str(out), "--quiet"]) == 0
    assert (out / "report" / "report.html").is_file() and (out / "report" / ".inputs").is_file()


def test_ctrl_c_before_any_run_ends_writes_no_empty_report(tmp_path, capsys, monkeypatch):
    from collections import Counter

    from conftest import write_tiny_study

    import ganstudy.execution.runner
    from ganstudy.execution.runner import StudySummary

    out = tmp_path / "out"
    stopped = StudySummary("tiny", out, 4, 0, Counter({"interrupted": 4}), interrupted=True)
    monkeypatch.setattr(ganstudy.execution.runner, "run_study", lambda *a, **k: stopped)
    assert main(["run", str(write_tiny_study(tmp_path)), "--out", str(out)]) == 130
    assert "progress is saved" in capsys.readouterr().err and not (out / "report").exists()
