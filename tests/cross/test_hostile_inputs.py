"""Careless and hostile inputs beyond the bad-input table: names that would walk out of the
study folder, an --out that holds someone else's files, sizes that would exhaust memory,
values of the wrong type, a seed the command line cannot set, a worker killed for memory,
damaged run folders, and the trust a study file with ``imports`` asks for. Each test runs the
command as a user would and checks the exit code, the message and that nothing was written
where it must not be."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_STUDY, write_tiny_study

from ganstudy.cli.main import main


def study_file(tmp: Path, name: str = "t", seeds: str = "2", extra: str = "") -> Path:
    """The suite's tiny study (4 iterations, 2 seeds, case ``lr-high``); ``extra`` lines go in
    its baseline, in place of the lines of the keys they set."""
    text = TINY_STUDY.format(name=name.replace("\\", "\\\\").replace('"', '\\"'), iterations=4,
                             checkpoint_every=10, extra="").replace("seeds = 2", f"seeds = {seeds}")
    keys = {line.split("=")[0].strip() for line in extra.splitlines()}
    rows = [row for row in text.splitlines() if row.split("=")[0].strip() not in keys]
    at = rows.index("[baseline]") + 1
    path = tmp / "s.toml"
    path.write_text("\n".join(rows[:at] + extra.splitlines() + rows[at:]) + "\n", encoding="utf-8")
    return path


def cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors: one line, exit 2
        code = exc.code
    out = capsys.readouterr()
    text = out.err + out.out
    assert "Traceback" not in text
    return code, text


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture(autouse=True)
def _data(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, shared_data):
    """A finished study folder (2 cases x 2 seeds, 4 iterations)."""
    from ganstudy.execution.runner import run_study

    tmp = tmp_path_factory.mktemp("hostile")
    os.environ.setdefault("GANSTUDY_DATA", str(shared_data))
    run_study(study_file(tmp), tmp / "out", live=False)
    return tmp / "out"


# ------------------------------------------------------------------ 1. names and paths
@pytest.mark.parametrize("name", ["../../../ESCAPED/x", "a/b", "a\\b", "<script>alert(1)</script>", "..", ".hidden",
                                  "x" * 81, "", "tab\there", "naïve"])
def test_a_study_name_that_could_become_a_path_is_refused(name, tmp_path, capsys):
    code, text = cli(["plan", str(study_file(tmp_path, name=name)), "--no-estimate"], capsys)
    assert code == 2 and "name" in text, text
    assert "letters" in text  # what is allowed


def test_promote_writes_nothing_outside_the_study_folder(finished, tmp_path, capsys):
    folder = tmp_path / "deep" / "er" / "study"
    shutil.copytree(finished, folder)
    toml = folder / "study.toml"
    toml.write_text(toml.read_text().replace('name = "t"', 'name = "../../../ESCAPED/x"'))
    before = files_under(tmp_path)
    code, text = cli(["promote", str(folder), "lr-high"], capsys)
    assert code == 2 and "name" in text
    assert files_under(tmp_path) == before  # no ESCAPED/, no x-v2.toml anywhere


def test_every_write_of_a_study_is_inside_its_folder(tmp_path):
    from ganstudy.base.errors import GanstudyError
    from ganstudy.base.paths import inside

    assert inside(tmp_path, "runs", "lr", "0-abc") == tmp_path / "runs" / "lr" / "0-abc"
    for parts in (("..", "x"), ("runs", "../../x"), ("/etc/passwd",), ("runs", "a/../../..")):
        with pytest.raises(GanstudyError, match="outside"):
            inside(tmp_path, *parts)


# ------------------------------------------------------------------ 2. the study folder is ours or empty
def test_run_refuses_an_out_folder_that_holds_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "report").mkdir(parents=True)
    (out / "report" / "report.md").write_text("my own notes")
    code, text = cli(["run", str(study_file(tmp_path)), "--out", str(out), "--quiet"], capsys)
    assert code == 2 and "not a study folder" in text and "--out" in text
    assert (out / "report" / "report.md").read_text() == "my own notes"
    assert files_under(out) == {"report", "report/report.md"}  # no lock, no index, no runs


def test_the_filesystem_root_is_never_a_study_folder():
    from ganstudy.base.errors import GanstudyError
    from ganstudy.storage.studyfolder import check_out

    with pytest.raises(GanstudyError, match="not a study folder"):
        check_out(Path("/"))


def test_run_takes_a_missing_an_empty_or_a_study_folder(tmp_path, finished, capsys):
    from ganstudy.base.errors import GanstudyError
    from ganstudy.storage.studyfolder import check_out

    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "missing", tmp_path / "empty", finished):
        check_out(folder)  # no error
    # a folder a killed `run` left before it saved the study file is still its own
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "index.sqlite").write_bytes(b"")
    (tmp_path / "half" / ".lock").write_text("")
    check_out(tmp_path / "half")
    # a study whose index and study file were lost (or runs gathered from elsewhere): only run folders
    (tmp_path / "gathered" / "runs").mkdir(parents=True)
    shutil.copytree(finished / "runs", tmp_path / "gathered" / "runs", dirs_exist_ok=True)
    check_out(tmp_path / "gathered")
    (tmp_path / "gathered" / "runs" / "lr-high" / "notes").mkdir()  # ... but a folder of runs and other things is not
    with pytest.raises(GanstudyError, match="not a study folder"):
        check_out(tmp_path / "gathered")


def test_an_out_path_through_a_missing_folder_leaves_nothing_on_the_way(tmp_path, capsys):
    """Found by the fuzz suite: ``--out a/../../x`` made an empty ``a`` beside the study file."""
    here = tmp_path / "here"
    here.mkdir()
    os.chdir(here)
    code, text = cli(["run", str(study_file(here)), "--out", "a/../../x", "--quiet"], capsys)
    assert code == 0, text
    assert not (here / "a").exists() and (tmp_path / "x" / "study.toml").is_file()


# ------------------------------------------------------------------ 3. sizes
def test_a_huge_seed_count_is_refused_with_the_cap(tmp_path, capsys):
    code, text = cli(["plan", str(study_file(tmp_path, seeds="1000000000000")), "--no-estimate"], capsys)
    assert code == 2 and "seeds" in text and "200" in text
    code, text = cli(["plan", str(study_file(tmp_path, seeds="{ min = 3, max = 100000 }")), "--no-estimate"], capsys)
    assert code == 2 and "200" in text
    code, text = cli(["run", str(study_file(tmp_path)), "--seeds", "1000000000000", "--out", str(tmp_path / "o")],
                     capsys)
    assert code == 2 and "--seeds" in text and "200" in text
    code, text = cli(["run", str(study_file(tmp_path)), "--max-seeds", "250", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "--max-seeds" in text and "200" in text


def test_add_seeds_past_the_cap_is_one_clear_message(finished, tmp_path, capsys):
    folder = tmp_path / "study"
    shutil.copytree(finished, folder)
    before = (folder / "study.toml").read_text()
    code, text = cli(["add-seeds", str(folder), "250"], capsys)
    assert code == 2 and "add-seeds" in text and "200" in text and "ValidationError" not in text
    assert (folder / "study.toml").read_text() == before


def test_scoring_too_few_images_is_one_clear_message(tmp_path, capsys):
    np.savez(tmp_path / "one.npz", images=np.zeros((1, 28, 28), dtype=np.uint8))
    code, text = cli(["eval", "--images", str(tmp_path / "one.npz"), "--dataset", "mnist-mini"], capsys)
    assert code == 2 and "1 image" in text and "at least" in text


# ------------------------------------------------------------------ 5. values typed strictly and bounded
BAD_VALUES = [("optim.lr", "inf"), ("optim.lr", "-inf"), ("optim.lr", "true"), ("train.iterations", "true"),
              ("optim.lr", '"0.001"'), ("model.g_widths", "[-4, 8]"), ("model.d_widths", "[0]"),
              ("train.batch_size", "1000000000"), ("model.latent_dim", "10000000"), ("eval.samples", "1000000000000"),
              ("loss.gp_weight", "nan"), ("optim.values", "[inf]"), ("train.iterations", "10.0"),
              ("data.holdout", "{}")]  # an empty table was dropped as if not given (found by the fuzz suite)


@pytest.mark.parametrize("key, value", BAD_VALUES, ids=[f"{k}={v}" for k, v in BAD_VALUES])
def test_a_value_of_the_wrong_type_or_size_is_refused_before_anything_trains(key, value, tmp_path, capsys):
    code, text = cli(["plan", str(study_file(tmp_path)), "--no-estimate", "--set", f"{key}={value}"], capsys)
    assert code == 2 and key in text, text
    path = study_file(tmp_path, extra=f"{key} = {value}")
    code, text = cli(["plan", str(path), "--no-estimate"], capsys)
    assert code == 2 and key in text, text


def test_a_run_that_would_not_fit_in_memory_is_refused_before_training(tmp_path, capsys, monkeypatch):
    from ganstudy.machine import cores

    monkeypatch.setattr(cores, "available_memory", lambda: 2 * 2**30)
    path = study_file(tmp_path)
    code, text = cli(["run", str(path), "--out", str(tmp_path / "o"), "--quiet", "--set", "train.batch_size=60000",
                      "--set", "model.g_widths=[4096, 4096]", "--set", "model.d_widths=[4096, 4096]"], capsys)
    assert code == 2 and "memory" in text and "train.batch_size" in text, text
    assert not list((tmp_path / "o").glob("runs/*/*/checkpoints"))  # nothing trained


# ------------------------------------------------------------------ 6. train.seed on the command line
@pytest.mark.parametrize("command", ["plan", "run"])
def test_the_command_line_cannot_set_a_studys_seed(command, tmp_path, capsys):
    args = [command, str(study_file(tmp_path)), "--set", "train.seed=3"]
    args += ["--no-estimate"] if command == "plan" else ["--out", str(tmp_path / "o"), "--quiet"]
    code, text = cli(args, capsys)
    assert code == 2 and "train.seed" in text and "seeds" in text
    assert not (tmp_path / "o" / "runs").exists()


# ------------------------------------------------------------------ 7. small
def test_a_worker_killed_for_memory_is_failed_with_that_reason(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANSTUDY_FAULT", "checkpoint@1")  # every worker that gets there is killed (SIGKILL)
    path = write_tiny_study(tmp_path, iterations=6, checkpoint_every=2)
    code, _ = cli(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "2", "--quiet",
                   "--set", "train.stack=false"], capsys)
    assert code == 1
    monkeypatch.delenv("GANSTUDY_FAULT")
    code, text = cli(["status", str(tmp_path / "o")], capsys)
    assert code == 0
    assert "failed" in text and "SIGKILL" in text and "memory" in text, text
    assert "pending" not in text


def test_status_says_what_a_rerun_will_find(finished, tmp_path, capsys):
    folder = tmp_path / "study"
    shutil.copytree(finished, folder)
    gone = min(folder.glob("runs/lr-high/*"))
    shutil.rmtree(gone)
    code, text = cli(["status", str(folder)], capsys)
    assert code == 0
    line = next(row for row in text.splitlines() if row.startswith("lr-high") and " 0 " in row)
    assert "pending" in line and "D " not in line and "s |" not in line  # no stale losses or wall time
    assert "3 complete, 1 pending" in text


def test_an_interrupted_run_whose_checkpoint_is_cut_short_is_pending(finished, tmp_path, capsys):
    from ganstudy.storage.index import StudyStore

    folder = tmp_path / "study"
    shutil.copytree(finished, folder)
    run = min(folder.glob("runs/baseline/*"))
    (run / "result.json").unlink()  # as if killed while training...
    ckpt = run / "checkpoints" / "last.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:500])  # ...while its checkpoint was being copied by hand
    store = StudyStore(folder)
    rec = next(r for r in store.all_runs() if r.path == str(run.relative_to(folder)))
    assert store.inspect(rec) == "pending"


def test_a_npz_that_is_not_a_zip_says_so(tmp_path, capsys):
    (tmp_path / "x.npz").write_bytes(b"this is plain text, not a zip archive" * 10)
    code, text = cli(["eval", "--images", str(tmp_path / "x.npz"), "--dataset", "mnist-mini"], capsys)
    assert code == 2 and "not a .npz" in text and "pickle" not in text, text


def test_a_symlink_loop_is_named_as_one(tmp_path, capsys):
    os.symlink(tmp_path / "b.toml", tmp_path / "a.toml")
    os.symlink(tmp_path / "a.toml", tmp_path / "b.toml")
    code, text = cli(["plan", str(tmp_path / "a.toml")], capsys)
    assert code == 2 and "symbolic link" in text and "loop" in text


def test_plan_names_the_modules_a_study_imports_before_importing_them(tmp_path, capsys):
    (tmp_path / "my_parts.py").write_text("print('MY_PARTS_RAN')\n")
    path = study_file(tmp_path, extra="").read_text().replace('seeds = 2', 'seeds = 2\nimports = ["my_parts"]')
    (tmp_path / "s.toml").write_text(path)
    try:
        code = main(["plan", str(tmp_path / "s.toml"), "--no-estimate"])
    finally:
        import sys

        sys.modules.pop("my_parts", None)
    out = capsys.readouterr()
    assert code == 0
    said = out.err.find("my_parts")
    assert 0 <= said and "runs its code" in out.err
    assert "MY_PARTS_RAN" in out.out  # the module ran after the notice (stderr is printed first, unbuffered)


@pytest.mark.parametrize("imports", ['[[]]', '["os; rm"]', '[1]', '"my_parts"', '["../x"]'])
def test_imports_that_are_no_module_names_are_refused_before_anything_is_imported(imports, tmp_path, capsys):
    """Found by the fuzz suite: ``imports = [[]]`` was a TypeError traceback."""
    text = study_file(tmp_path).read_text().replace("seeds = 2", f"seeds = 2\nimports = {imports}")
    (tmp_path / "s.toml").write_text(text)
    code, said = cli(["plan", str(tmp_path / "s.toml"), "--no-estimate"], capsys)
    assert code == 2 and "imports must be a list of module names" in said, said


def test_the_readme_states_the_caps_the_code_has():
    """The limits a user reads are the ones that refuse their file (no drift between the two)."""
    from ganstudy.metrics.registry import MIN_IMAGES
    from ganstudy.spec.config import MAX_BATCH, MAX_SAMPLES, MAX_WIDTH
    from ganstudy.spec.settings import MAX_NAME, MAX_SEEDS
    from ganstudy.spec.study import CASE_ID

    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    said = readme[readme.index("**Checked before anything trains.**"):][:1200]
    assert f"1-{MAX_NAME} ASCII" in said and f"at most {MAX_SEEDS} seeds" in said
    assert f"at most {MAX_WIDTH:,}" in said and MAX_BATCH == MAX_WIDTH
    assert f"at most {MAX_SAMPLES:,} and at least {MIN_IMAGES}" in said
    assert CASE_ID.pattern.endswith("{0,62}$") and "case id 1-63" in said


def test_the_readme_says_imports_run_code():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "imports" in readme and "runs code" in readme

