"""Every mistake a user can make, and every damaged file: one clear paragraph that names the
file or the key (and what to do), a non-zero exit, never a traceback. Table-driven: each row
sets up its files, runs the command as a user would, and says what the message must name."""

import errno
import pickle
import sqlite3

import pytest
from conftest import write_tiny_study

from ganstudy.cli.main import main

STUDY_HEAD = '[study]\nname = "t"\nseeds = 2\n[baseline]\ntrain.iterations = 10\ndata.split = "test"\n'


def study(tmp, text):
    path = tmp / "s.toml"
    path.write_text(STUDY_HEAD + text if not text.startswith("[study]") else text)
    return str(path)


class Evil:  # a checkpoint that would run a command if it were unpickled
    def __reduce__(self):
        import os

        return (os.system, ("touch EVIL_RAN",))


def checkpoint(tmp, run, content: bytes | None = None, evil: bool = False):
    """A copy of ``run`` (a finished run folder) whose checkpoint is replaced."""
    import shutil

    target = tmp / "copy"
    shutil.copytree(run, target)
    path = target / "checkpoints" / "last.pt"
    if evil:
        path.write_bytes(pickle.dumps({"g": Evil()}))
    else:
        path.write_bytes(content if content is not None else path.read_bytes()[:20000])
    return str(target)


def damaged_json(tmp, run, name):
    import shutil

    target = tmp / "copy"
    shutil.copytree(run, target)
    (target / name).write_text((target / name).read_text()[:40])
    return str(target)


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    """A tiny finished run, for the checkpoint rows."""
    folder = tmp_path_factory.mktemp("bad") / "run"
    assert main(["train", "--set", "data.dataset=mnist-mini", "--set", "data.split=test", "--set",
                 "train.iterations=4", "--set", "eval.samples=50", "--set", "eval.reference_samples=50",
                 "--set", "eval.curve_points=0", "--set", "model.g_widths=[16, 16]", "--set",
                 "model.d_widths=[16, 16]", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny finished study folder, for the store rows."""
    from ganstudy.execution.runner import run_study

    tmp = tmp_path_factory.mktemp("bad-study")
    run_study(write_tiny_study(tmp, iterations=4, checkpoint_every=2), tmp / "out", live=False)
    return tmp / "out"


def copy_study(tmp, finished):
    import shutil

    shutil.copytree(finished, tmp / "study")
    return tmp / "study"


def random_index(tmp, finished):
    folder = copy_study(tmp, finished)
    (folder / "index.sqlite").write_bytes(bytes(range(256)) * 20)
    return str(folder)


def foreign_index(tmp, finished):
    folder = copy_study(tmp, finished)
    (folder / "index.sqlite").unlink()
    db = sqlite3.connect(folder / "index.sqlite")
    db.execute("CREATE TABLE runs (x INTEGER)")
    db.commit()
    db.close()
    return str(folder)


def torn_result(tmp, finished):
    folder = copy_study(tmp, finished)
    result = sorted(folder.glob("runs/baseline/*/result.json"))[0]
    result.write_text(result.read_text()[:30])
    return str(folder)


# (id, argv from (tmp, run, finished), exit code, what the message must name)
ROWS = [
    # config keys and values
    ("unknown key", lambda t, r, f: ["train", "--set", "optim.learning_rate=0.001", "--out", str(t / "o")], 2,
     ["optim.learning_rate", "optim.lr"]),
    ("wrong type", lambda t, r, f: ["train", "--set", "train.batch_size=large", "--out", str(t / "o")], 2,
     ["train.batch_size"]),
    ("negative iterations", lambda t, r, f: ["train", "--set", "train.iterations=-5", "--out", str(t / "o")], 2,
     ["train.iterations"]),
    ("unknown scaling", lambda t, r, f: ["train", "--set", "data.scale=minus", "--out", str(t / "o")], 2,
     ["data.scale"]),
    ("--set without =", lambda t, r, f: ["train", "--set", "optim.lr", "--out", str(t / "o")], 2, ["--set"]),
    ("--set cut short", lambda t, r, f: ["train", "--set", "model.g_widths=[1,", "--out", str(t / "o")], 2,
     ["model.g_widths"]),
    ("unknown architecture", lambda t, r, f: ["train", "--set", "model.arch=resnet", "--out", str(t / "o")], 2,
     ["model.arch", "resnet"]),
    ("unknown loss", lambda t, r, f: ["train", "--set", "loss.kind=focal", "--out", str(t / "o")], 2, ["loss.kind"]),
    ("unknown metric", lambda t, r, f: ["train", "--set", 'eval.metrics=["fidd"]', "--out", str(t / "o")], 2,
     ["fidd"]),
    ("no CUDA", lambda t, r, f: ["train", "--device", "cuda", "--set", "data.split=test", "--out", str(t / "o")], 2,
     ["--device cuda"]),
    ("missing config file", lambda t, r, f: ["train", str(t / "nofile.toml"), "--out", str(t / "o")], 2,
     ["nofile.toml"]),
    ("broken config TOML", lambda t, r, f: ["train", _write(t, "c.toml", "[train\n"), "--out", str(t / "o")], 2,
     ["c.toml"]),
    ("unknown config section", lambda t, r, f: ["train", _write(t, "c.toml", "[trainn]\n"), "--out", str(t / "o")],
     2, ["trainn"]),
    # study files
    ("missing study file", lambda t, r, f: ["run", str(t / "nofile.toml")], 2, ["nofile.toml"]),
    ("broken study TOML", lambda t, r, f: ["plan", _write(t, "s.toml", "[study\n")], 2, ["s.toml"]),
    ("unknown study key", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nseedz = 3\n')], 2,
     ["seedz", "allowed"]),
    ("case id as a path", lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "../evil"\n')], 2, ["folder name"]),
    ("case id twice", lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "a"\n[[cases]]\nid = "a"\n')], 2,
     ["appears twice"]),
    ("unknown key in a case", lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "a"\nset = { "optim.lrr" = 1 }\n')],
     2, ["case a", "optim.lrr", "optim.lr"]),
    ("cases based on each other",
     lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "a"\nbase = "b"\n[[cases]]\nid = "b"\nbase = "a"\n')], 2,
     ["its own base"]),
    ("unknown primary metric", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nmetric = "fidd"\n')], 2,
     ["fidd"]),
    ("seeds range upside down", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nseeds = { min = 5, max = 3 }\n')],
     2, ["study.seeds", "max (3) must be at least min (5)"]),
    ("seeds as words", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nseeds = "many"\n')], 2, ["study.seeds"]),
    ("unknown error control", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nerror_control = "bonf"\n')], 2,
     ["study.error_control", "holm"]),
    ("unknown pairing", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\npairing = "yes"\n')], 2,
     ["study.pairing"]),
    ("band out of range", lambda t, r, f: ["plan", study(t, '[study]\nname = "t"\nequivalence = 2\n')], 2,
     ["study.equivalence"]),
    ("seed set in a case", lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "a"\nset = { "train.seed" = 3 }\n')], 2,
     ["train.seed", "[study] seeds"]),
    ("scoring set in a case", lambda t, r, f: ["plan", study(t, '[[cases]]\nid = "a"\nset = { "eval.samples" = 50 }\n')],
     2, ["case a", "eval.samples"]),
    # running a study
    ("a data file missing", lambda t, r, f: ["run", study(t, '[[cases]]\nid = "x"\nset = { "data.extra" = ["no/m.mat"] }\n'),
                                              "--out", str(t / "o")], 2, ["[case x]", "no/m.mat", "Nothing was trained"]),
    ("--max-seeds too few", lambda t, r, f: ["run", study(t, ""), "--out", str(t / "o"), "--max-seeds", "1"], 2,
     ["--max-seeds"]),
    ("--seeds 0", lambda t, r, f: ["run", study(t, ""), "--out", str(t / "o"), "--seeds", "0"], 2, ["--seeds"]),
    ("--out under a file (run)", lambda t, r, f: ["run", study(t, ""), "--out", _write(t, "afile", "") + "/x"], 2,
     ["afile/x", "cannot be a study folder"]),
    ("--out under a file (train)", lambda t, r, f: ["train", "--out", _write(t, "afile", "") + "/x"], 2,
     ["afile", "no folder can be made under it"]),
    ("ray options without ray", lambda t, r, f: ["run", study(t, ""), "--out", str(t / "o"), "--address", "x:1"], 2,
     ["--executor ray"]),
    ("run a folder that is no study", lambda t, r, f: ["run", str(t)], 2, ["not a study folder"]),
    # study folders
    ("report of a study file", lambda t, r, f: ["report", study(t, "")], 2, ["s.toml is a study file"]),
    ("status of an empty folder", lambda t, r, f: ["status", str(t)], 2, ["not a study folder"]),
    ("add no seeds", lambda t, r, f: ["add-seeds", str(f), "0"], 2, ["at least 1"]),
    ("promote an unknown case", lambda t, r, f: ["promote", str(f), "nope"], 2, ["no case 'nope'"]),
    # damaged files
    ("fine-tune a folder that is no run", lambda t, r, f: ["finetune", str(t), "--out", str(t / "o")], 2,
     ["not a run folder"]),
    ("fine-tune from an empty checkpoint", lambda t, r, f: ["finetune", checkpoint(t, r, b""), "--out", str(t / "o")],
     2, ["last.pt", "not a usable ganstudy checkpoint"]),
    ("score random bytes", lambda t, r, f: ["eval", checkpoint(t, r, bytes(range(256)) * 8)], 2,
     ["last.pt", "not a usable ganstudy checkpoint"]),
    ("score a truncated checkpoint", lambda t, r, f: ["eval", checkpoint(t, r)], 2,
     ["last.pt", "not a usable ganstudy checkpoint"]),
    ("score a malicious checkpoint", lambda t, r, f: ["eval", checkpoint(t, r, evil=True)], 2,
     ["last.pt", "not a usable ganstudy checkpoint"]),
    ("score with a damaged config.json", lambda t, r, f: ["eval", damaged_json(t, r, "config.json")], 2,
     ["config.json", "damaged"]),
    ("score nothing", lambda t, r, f: ["eval"], 2, ["RUN_DIR"]),
    # damaged study folders are repaired, saying so
    ("index of random bytes", lambda t, r, f: ["status", random_index(t, f)], 0, ["index.sqlite was damaged",
                                                                                  "rebuilt from the run folders"]),
    ("index of another schema", lambda t, r, f: ["status", foreign_index(t, f)], 0, ["index.sqlite was damaged"]),
    ("a torn result.json", lambda t, r, f: ["report", torn_result(t, f)], 0, ["damaged", "scores it again"]),
]


def _write(tmp, name, text):
    (tmp / name).write_text(text)
    return str(tmp / name)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch, refusing the malicious checkpoint
@pytest.mark.parametrize("name, argv, code, named", ROWS, ids=[row[0] for row in ROWS])
def test_bad_input_gets_a_clear_message(name, argv, code, named, tmp_path, run, finished, capsys, monkeypatch,
                                        shared_data):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    args = argv(tmp_path, run, finished)
    if args[0] == "train" and "--set" not in args[1:3] and not any(a.endswith(".toml") for a in args):
        args += ["--set", "data.split=test"]
    try:
        got = main(args)
    except SystemExit as exc:  # argparse's own usage errors exit 2 with one line, no traceback
        got = exc.code
    out = capsys.readouterr()
    text = out.err + out.out
    assert got == code, text
    assert "Traceback" not in text
    for word in named:
        assert word in text, (word, text)
    if code:
        assert out.err.count("ganstudy: error:") == 1
    assert not (tmp_path / "EVIL_RAN").exists()  # a malicious checkpoint is never unpickled


def test_a_full_disk_is_one_clear_message(tmp_path, capsys, monkeypatch, shared_data):
    import ganstudy.base.atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o" / "config.json"))

    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    monkeypatch.setattr(ganstudy.base.atomic.os, "replace", full)
    code = main(["train", "--set", "data.split=test", "--set", "train.iterations=2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "config.json: the disk is full" in err and "run the same command again" in err


def test_there_are_at_least_forty_rows():
    assert len(ROWS) >= 40
