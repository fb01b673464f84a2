"""What a reorganisation of the code must not change: the identity of every shipped study's
runs (a new hash would train every study again, and the store would not find old runs), and
a study folder written by an earlier ganstudy, which must resume where it stood."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import ganstudy
from ganstudy.cli.main import main
from ganstudy.spec.study import load_study

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STUDIES = Path(__file__).resolve().parents[2] / "studies"


def test_every_shipped_studys_run_hashes_are_the_stored_ones():
    """``fixtures/run_hashes.json`` was written before the code was rearranged into wings: every
    case x seed of every study in ``studies/`` keeps its identity."""
    stored = json.loads((FIXTURES / "run_hashes.json").read_text())
    assert sorted(stored) == sorted(p.name for p in STUDIES.glob("*.toml")), "a study was added: store its hashes"
    for name, cases in stored.items():
        study = load_study(STUDIES / name)
        now = {plan.id: {str(s): study.run_hash(plan.id, s) for s in study.case_seeds(plan.id)} for plan in study.cases}
        assert now == cases, name


def test_a_study_folder_written_by_an_earlier_ganstudy_resumes(tmp_path, shared_data, monkeypatch, capsys):
    """The fixture is the quickstart at 2 seeds (tiny networks, 40 iterations), run by ganstudy
    before the move. Asked for a third seed, it trains only that seed's 2 runs and keeps the 4
    old runs as they are, byte for byte."""
    with tarfile.open(FIXTURES / "old-study.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    folder = tmp_path / "quickstart"
    old = {p: p.read_bytes() for p in folder.glob("runs/*/*/result.json")}
    assert len(old) == 4
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    assert main(["run", str(folder), "--seeds", "3", "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr()
    assert "4 of 6 runs were already done; this time: 2 complete" in out.out + out.err
    assert {p: p.read_bytes() for p in old} == old
    results = sorted(folder.glob("runs/*/*/result.json"))
    assert len(results) == 6 and all(json.loads(p.read_text())["status"] == "complete" for p in results)
    runs = [r for r in ganstudy.open(folder).runs() if r["case"] != "log-less-often"]  # it shares the baseline's
    assert sorted((r["case"], r["seed"]) for r in runs) == [(c, s) for c in ("baseline", "scale-zero-one") for s in (0, 1, 2)]
    assert all(r["status"] == "complete" and r["fid"] > 0 for r in runs)
    assert "# Study: quickstart" in (folder / "report" / "report.md").read_text()


def test_the_stacking_keys_first_name_is_read_as_train_stack_and_moves_no_hash(tmp_path):
    """``train.vectorize_seeds`` (its name before the move) in a study file's [baseline], in
    ``--set`` and in an old run's config.json is ``train.stack``, and the run hash is the
    default's: the key is a presentation key under either name."""
    from ganstudy.spec.config import RunConfig
    from ganstudy.spec.layers import Layer, build_config, config_from_json, parse_overrides

    default = RunConfig().run_hash()
    by_set = build_config([parse_overrides(["train.vectorize_seeds=false"])])
    by_file = build_config([Layer("study.toml [baseline]", {"train.vectorize_seeds": False})])
    old_json = RunConfig(train={"stack": False}).model_dump(mode="json")
    old_json["train"]["vectorize_seeds"] = old_json["train"].pop("stack")
    from_json = config_from_json({"config": old_json})
    for cfg in (by_set, by_file, from_json):
        assert cfg.train.stack is False and cfg.run_hash() == default
    assert build_config([Layer("new", {"train.stack": False})]) == by_set
