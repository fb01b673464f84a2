"""Generated study files and command-line overrides, as a careless or hostile user might write
them: values of every TOML type and size, unicode, nesting, names and paths that point out of
the folder. Whatever comes in, the tool answers with exit 0 or 2 and a message (never a
traceback), writes nothing outside the study folder, and answers quickly.

The bad-input table (``test_bad_inputs.py``) pins the message of each known mistake; this suite
looks for the mistakes nobody listed. Examples are drawn from a fixed seed so CI is
reproducible; ``GANSTUDY_FUZZ=N`` draws N fresh examples per property for a deeper search."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ganstudy.api.listing import keys as key_rows
from ganstudy.cli.main import main

DEEP = int(os.environ.get("GANSTUDY_FUZZ", "0"))
QUICK = settings(
    max_examples=DEEP or 120, derandomize=not DEEP, database=None, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = [row[0] for row in key_rows()]

# The places a hostile name or path would reach, relative to the folder the user runs in (the
# test's sandbox, whose parent is watched too).
PATHS = ["../escaped", "../../escaped/x", "/", "/tmp", ".", "..", "a/../../escaped", "~",
         "nul", "con:", "x" * 300, "runs", "index.sqlite", "/dev/zero", "/dev/null", "/proc/self/mem"]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
paths = st.sampled_from(PATHS)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 2**31, 2**40, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.5, 2.0]),
    text, paths,
    st.sampled_from(["mlp", "dcgan", "bce", "wasserstein", "adam", "step", "fp32", "bf16", "mnist-mini",
                     "test", "fid", "true", "0.001", "1e9", "[1, 2]"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "min", "max"]),
                                                                         inner, max_size=3)),
    max_leaves=8,
)
any_key = st.one_of(st.sampled_from(KEYS), st.sampled_from(KEYS).map(lambda k: k + ".x"),
                    st.sampled_from(["study.name", "train", "data", "x", "a.b.c.d", "model.", ".lr", "", "__class__",
                                     "train.seed", "train.vectorize_seeds"]),
                    text)


def mostly(valid, other):
    """``valid`` three times in four, else ``other``: each part of a file is mostly fine, so that
    the checks past the first mistake are reached too."""
    return st.sampled_from(range(4)).flatmap(lambda i: other if i == 0 else valid)


case_ids = st.one_of(st.sampled_from(["lr", "baseline", "a..b", "LR", "-x", "x" * 70]), paths, text)


def toml(value) -> str:
    """``value`` as a TOML value; strings as basic strings (JSON's escapes are TOML's, but for
    DEL, which TOML refuses: so much the better, the file is then invalid and must be said so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in value.items()) + " }"


BASE = {"data.dataset": "mnist-mini", "data.split": "test", "data.limit": 64, "train.iterations": 1,
        "train.batch_size": 8, "eval.samples": 20, "eval.reference_samples": 20, "eval.curve_points": 0,
        "eval.metrics": ["fid"], "model.g_widths": [8], "model.d_widths": [8], "model.g_batchnorm": [True],
        "model.d_batchnorm": [False], "model.latent_dim": 4}


@st.composite
def studies(draw) -> str:
    """A study file's text: mostly a valid tiny study, with generated keys, values, names and cases."""
    meta = {"name": draw(mostly(st.just("t"), st.one_of(text, paths))),
            "seeds": draw(mostly(st.just(1), values))}
    if draw(mostly(st.just(False), st.just(True))):
        meta[draw(st.sampled_from(["metric", "imports", "description", "alpha", "x"]))] = draw(values)
    baseline = dict(BASE)
    for key, value in draw(st.dictionaries(mostly(st.sampled_from(KEYS), any_key), values, max_size=3)).items():
        baseline[key] = value
    cases = draw(st.lists(st.tuples(mostly(st.sampled_from(["a", "b2", "c.d"]), case_ids),
                                    st.dictionaries(mostly(st.sampled_from(KEYS), any_key), values, max_size=2)),
                          max_size=3, unique_by=lambda case: case[0]))
    lines = ["[study]", *(f"{json.dumps(k)} = {toml(v)}" for k, v in meta.items()), "[baseline]"]
    lines += [f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in baseline.items()]
    for case_id, changes in cases:
        lines += ["[[cases]]", f"id = {toml(case_id)}", f"set = {toml(changes)}"]
    if draw(st.sampled_from(range(10))) == 9:  # now and then a damaged file: cut short, garbage after
        joined = "\n".join(lines)
        return joined[: int(len(joined) * draw(st.floats(0.2, 1.0)))] + draw(text)
    return "\n".join(lines) + "\n"


overrides = mostly(st.just([]), st.lists(st.one_of(
    st.tuples(st.sampled_from(KEYS), values).map(lambda kv: f"{kv[0]}={toml(kv[1])}"),
    st.tuples(any_key, text).map(lambda kv: f"{kv[0]}={kv[1]}"),
    text,
), max_size=3))


def tree(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` with its size (a change of content shows as a change of size
    or of mtime-independent listing; enough for 'nothing was written here')."""
    return {str(p.relative_to(folder)): (p.stat().st_size if p.is_file() else -1)
            for p in folder.rglob("*") if not p.is_symlink()}


def answer(args: list[str], capsys) -> tuple[int, str]:
    """Exit code and everything printed; a traceback or an exception escaping main fails the test."""
    try:
        code = main(args)
    except SystemExit as exc:  # argparse: a usage line and exit 2
        code = exc.code
    out = capsys.readouterr()
    printed = out.err + out.out
    assert "Traceback" not in printed, printed
    return code, printed


@pytest.fixture()
def sandbox(tmp_path, shared_data, monkeypatch):
    """Makes, for each example, a fresh folder to run in inside a watched parent (what the tool
    writes must stay in its study folder), and goes into it."""
    monkeypatch.setenv("GANSTUDY_DATA", str(shared_data))
    monkeypatch.chdir(tmp_path)

    def fresh() -> Path:
        here = Path(tempfile.mkdtemp(dir=tmp_path)) / "a" / "work"
        here.mkdir(parents=True)
        os.chdir(here)
        return here
    return fresh


@QUICK
@given(study=studies(), sets=overrides)
def test_plan_of_any_study_file_answers_without_writing(sandbox, capsys, study, sets):
    here = sandbox()
    path = here / "s.toml"
    path.write_text(study, encoding="utf-8", errors="surrogatepass")
    before = tree(here.parents[1])
    started = time.perf_counter()
    code, printed = answer(["plan", str(path), "--no-estimate", *(f"--set={s}" for s in sets)], capsys)
    assert code in (0, 2), printed
    event(f"exit {code}")
    if code == 2:
        assert "ganstudy: error:" in printed or "usage:" in printed, printed
        event(printed.split("s.toml")[-1][:60])
    assert tree(here.parents[1]) == before  # plan writes nothing, anywhere
    assert time.perf_counter() - started < 5


@settings(QUICK, max_examples=DEEP or 12)
@given(name=mostly(st.just("t"), st.one_of(paths, text)), out=mostly(st.just("study"), paths),
       case_id=mostly(st.just("lr"), case_ids), sets=overrides)
def test_run_with_hostile_names_and_folders_stays_in_its_folder(sandbox, capsys, name, out, case_id, sets):
    """``run`` of a tiny study (one iteration) with a generated name, case id, ``--out`` and
    overrides: it trains and writes only inside ``--out``, or refuses and writes nothing."""
    here = sandbox()
    bystander = here / "mine"  # the user's own files, next to the study
    bystander.mkdir()
    (bystander / "notes.txt").write_text("keep me")
    path = here / "s.toml"
    lines = ["[study]", f"name = {toml(name)}", "seeds = 1", "[baseline]",
             *(f"{json.dumps(k)} = {toml(v)}" for k, v in BASE.items()),
             "[[cases]]", f"id = {toml(case_id)}", 'set = { "optim.lr" = 0.001 }']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = (here / Path(out).expanduser()).resolve()
    held = target.exists()
    before = tree(here.parents[1])
    code, printed = answer(["run", str(path), "--out", out, "--workers", "1", *(f"--set={s}" for s in sets)], capsys)
    assert code in (0, 2), printed
    event(f"exit {code}")
    after = tree(here.parents[1])
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    if code == 2:
        assert "ganstudy: error:" in printed or "usage:" in printed, printed
        assert not changed, changed  # a refusal writes nothing
    else:
        assert not held, f"run wrote into {out!r}, which held something already"
        inside = target.relative_to(here.parents[1])
        made_on_the_way = {str(folder) for folder in inside.parents}  # --out a/b makes a first
        assert all(Path(p).is_relative_to(inside) or p in made_on_the_way for p in changed), changed
        assert (bystander / "notes.txt").read_text() == "keep me"
