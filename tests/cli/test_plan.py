"""``plan`` is ``run`` without training: it takes run's flags and makes run's checks before
training (data, splits, memory, the study folder), exits 2 where run would, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TINY_STUDY

from ganstudy.cli.main import main


@pytest.fixture(autouse=True)
def _data(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def study(tmp_path, drop: str = "", add: str = ""):
    text = TINY_STUDY.format(name="p", iterations=4, checkpoint_every=10, extra="")
    text = "\n".join(row for row in text.splitlines() if not (drop and row.startswith(drop)))
    path = tmp_path / "p.toml"
    path.write_text(text.replace("[baseline]", "[baseline]\n" + add))
    return str(path)


def said(capsys) -> tuple[str, str]:
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return out.out, out.err


def test_plan_refuses_what_run_refuses_after_showing_the_plan(tmp_path, capsys):
    path = study(tmp_path, drop="data.split")  # mnist-mini has only its test split
    assert main(["plan", path, "--no-estimate"]) == 2
    out, err = said(capsys)
    assert "lr-high" in out and "runs to train" in out  # the plan is still shown
    assert 'set data.split = "test"' in err and "cannot start" in err
    assert main(["run", path, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert 'set data.split = "test"' in said(capsys)[1]
    assert not (tmp_path / "ganstudy-runs").exists() and not (tmp_path / "o" / "runs").exists()


@pytest.mark.parametrize("flags, words", [
    (["--set", "train.batch_size=60000", "--set", "model.g_widths=[65536,65536]"], ["memory", "train.batch_size"]),
    (["--seeds", "1000"], ["--seeds 1000", "200"]),
    (["--max-seeds", "1"], ["--max-seeds 1"]),
])
def test_plan_refuses_sizes_and_seeds_as_run_does(flags, words, tmp_path, capsys):
    assert main(["plan", study(tmp_path), "--no-estimate", *flags]) == 2
    err = said(capsys)[1]
    assert all(word in err for word in words), err


def test_plan_takes_runs_seed_flags_and_writes_nothing(tmp_path, capsys):
    path = study(tmp_path)
    assert main(["plan", path, "--no-estimate", "--seeds", "5", "--out", "fresh/study"]) == 0
    out, _ = said(capsys)
    assert "seeds [0, 1, 2, 3, 4]" in out and "10 runs to train" in out  # the baseline and one case, 5 seeds each
    assert main(["plan", path, "--no-estimate", "--max-seeds", "6"]) == 0
    assert "seeds 2 to 6 a case (adaptive)" in said(capsys)[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]  # no study folder, no probe file


def test_plan_refuses_an_out_folder_run_would_refuse(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main(["plan", study(tmp_path), "--no-estimate", "--out", "mine"]) == 2
    assert "not a study folder" in said(capsys)[1]


def test_the_estimate_is_for_the_workers_given(tmp_path, capsys):
    assert main(["plan", study(tmp_path), "--workers", "1"]) == 0
    assert "with 1 worker process " in said(capsys)[0]


@pytest.mark.parametrize("table", ["cases", "sweeps"])
def test_changes_is_not_a_silent_alias_of_set(table, tmp_path, capsys):
    """``changes = {...}`` in a case was taken as ``set`` without a word (the field's own name)."""
    path = tmp_path / "c.toml"
    body = 'values = { "optim.lr" = [1e-3] }\n' if table == "sweeps" else ""
    path.write_text(Path(study(tmp_path)).read_text() + f'\n[[{table}]]\nid = "x"\n{body}changes = {{ "optim.beta1" = 0.9 }}\n')
    assert main(["plan", str(path), "--no-estimate"]) == 2
    err = said(capsys)[1]
    assert "changes: unknown key" in err and "set" in err, err


def test_plan_of_a_finished_study_checks_nothing_run_would_not(tmp_path, capsys, monkeypatch):
    """``run DIR`` of a study whose runs all ended trains nothing and checks nothing; nor does its plan."""
    from ganstudy.execution import preflight
    from ganstudy.execution.runner import run_study

    path = study(tmp_path)
    run_study(path, tmp_path / "done", live=False)
    checked = []
    monkeypatch.setattr(preflight, "check", lambda specs, *a, **k: checked.append(len(specs)))
    assert main(["plan", str(tmp_path / "done"), "--no-estimate"]) == 0
    assert checked == []
    assert main(["plan", path, "--no-estimate", "--out", str(tmp_path / "done"), "--seeds", "3"]) == 0
    assert checked == [2]  # seed 2 of the baseline and of the case: the runs not yet ended
