"""Reports of a real small study: markdown, csv, and the HTML page in headless Chromium."""

import csv
import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import chromium
from PIL import Image

from ganstudy.cli.main import main
from ganstudy.execution.runner import run_study

STUDY = """
[study]
name = "report-test"
description = "A tiny real study for the report tests. *Not emphasis*, [not a link](http://x)."
seeds = 2

[baseline]
data.dataset = "mnist-mini"
data.split = "test"
data.limit = 512
data.holdout = 300
eval.samples = 300
model.g_widths = [64, 128]
model.d_widths = [128, 64]
model.latent_dim = 32
train.iterations = 40
train.log_every = 5
train.sample_every = 20
train.checkpoint_every = 20
eval.every = 20

[[cases]]
id = "lr-high"
title = "=HYPERLINK(\\"http://x\\") <script>alert(1)</script> higher learning rate | with a pipe"
expect = "improve"
rationale = "Tests that user text is text: <b>not bold</b>."
set = { "optim.lr" = 0.002 }

[[cases]]
id = "log-less"
title = "Log less often"
expect = "no effect"
set = { "train.log_every" = 10 }
"""


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    path = root / "study.toml"
    path.write_text(STUDY)
    out = root / "out"
    run_study(path, out, live=False)
    assert main(["report", str(out)]) == 0
    return out


def test_markdown_report_is_a_readable_table(study_dir):
    text = (study_dir / "report" / "report.md").read_text()
    assert text.startswith("# Study: report-test")
    assert "## What this study says" in text and "does not change training" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| change | expected"))
    table = lines[header : header + 4]
    pipes = lambda line: line.replace("\\|", "").count("|")  # noqa: E731 - unescaped cell separators
    assert len({pipes(line) for line in table}) == 1, table  # every row has the header's columns
    assert "\\| with a pipe" in table[2]  # a user's pipe is escaped, not a new column
    row = table[2]
    assert "lr-high" in row and "improve" in row and "D " in row and "acc" in row
    assert "## Provenance" in text and "torch" in text and "data.scale" in text
    assert "real vs real (floor)" in text


def test_results_csv_has_a_row_per_run(study_dir):
    rows = list(csv.DictReader(io.StringIO((study_dir / "report" / "results.csv").read_text())))
    assert len(rows) == 6  # 3 cases x 2 seeds, the shared ones listed under each case
    assert {r["case"] for r in rows} == {"baseline", "lr-high", "log-less"}
    first = rows[0]
    assert first["optim.lr"] and first["metric.fid"] and first["final.g_loss"] and first["status"] == "complete"
    log_less = [r for r in rows if r["case"] == "log-less"]
    baseline = [r for r in rows if r["case"] == "baseline"]
    assert [r["run_hash"] for r in log_less] == [r["run_hash"] for r in baseline]


def test_html_escapes_user_strings(study_dir):
    page = (study_dir / "report" / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    assert page.count("data:image/png;base64,") >= 5  # grids, curves, strip plot: all embedded


def _chrome(args, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.browser
def test_report_renders_in_headless_chromium(study_dir, tmp_path):
    page = study_dir / "report" / "report.html"
    shot = tmp_path / "shot.png"
    proc = _chrome([f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", page.as_uri()], tmp_path)
    assert shot.is_file(), proc.stderr
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    non_white = (pixels.sum(axis=2) < 720).mean()
    assert non_white > 0.02, "the page rendered blank"
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert colours > 100, "no images or plots rendered"  # text and tables alone have few colours
    dom = _chrome(["--dump-dom", page.as_uri()], tmp_path).stdout
    assert "<table>" in dom and "lr-high" in dom
    # The malicious title is a text node: serialised back escaped, never a script element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "<script>alert(1)" not in dom


def _figures(page: str) -> list[dict]:
    """What each figure embedded in a report page shows (the metadata figures.py writes)."""
    import base64
    import json
    import re

    found = []
    for blob in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page):
        image = Image.open(io.BytesIO(base64.b64decode(blob)))
        if "ganstudy" in image.text:
            found.append(json.loads(image.text["ganstudy"]))
    return found


def test_figures_show_data_that_no_legend_covers(study_dir):
    figures = _figures((study_dir / "report" / "report.html").read_text())
    assert len(figures) == 3  # the strip plot and the curves of the two cases
    for figure in figures:
        assert not figure["legend_overlaps_data"]
        assert all(n > 0 for n in figure["points"].values()), figure
    curves = figures[1]["points"]
    assert curves["fid"] == 2 * 2 * 5  # 2 seeds of 2 arms, 5 points of the curve through training each


def test_html_has_every_table_and_every_seeds_grids(study_dir):
    page = (study_dir / "report" / "report.html").read_text()
    for heading in ("Results", "Every metric", "Diverged and collapsed runs", "Provenance", "Runs"):
        assert f">{heading}</h" in page, heading
    assert page.count("<figcaption>seed ") == 2 * 2  # two cases with grids... x 2 seeds
    assert "each seed's baseline (left) beside the case (right)" in page


def test_user_words_are_text_in_every_file(study_dir):
    md = (study_dir / "report" / "report.md").read_text()
    assert "\\*Not emphasis\\*, \\[not a link\\]\\(http://x\\)" in md
    assert "&lt;script\\>" in md and "<script>" not in md


def test_csv_cells_are_never_formulas():
    from ganstudy.report.format import csv_cell

    assert [csv_cell(v) for v in ("=1+2", "+1", "-cmd", "@SUM(A1)", "\tx", "ok", -1.5, 3)] == [
        "'=1+2", "'+1", "'-cmd", "'@SUM(A1)", "'\tx", "ok", -1.5, 3]


@pytest.mark.browser
def test_quickstart_report_in_a_browser(tmp_path):
    """The main job's report, as a newcomer opens it (the quickstart, shortened to test speed)."""
    quick = ["train.iterations=150", "train.checkpoint_every=50", "train.sample_every=50", "eval.samples=300",
             "data.holdout=300"]
    out = tmp_path / "quickstart"
    run_study(Path(__file__).resolve().parents[2] / "studies" / "quickstart.toml", out, overrides=quick, live=False)
    assert main(["report", str(out)]) == 0
    page = out / "report" / "report.html"
    shot = tmp_path / "shot.png"
    _chrome([f"--screenshot={shot}", "--window-size=1280,3000", "--hide-scrollbars", page.as_uri()], tmp_path)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 100, "no figures rendered"
    dom = _chrome(["--dump-dom", page.as_uri()], tmp_path).stdout
    assert dom.count("<table>") >= 4  # results, every metric..., failures, runs
    assert "Diverged and collapsed runs" in dom and ">Runs</h3>" in dom and "scale-zero-one" in dom
    figures = _figures(page.read_text())
    assert figures and all(not f["legend_overlaps_data"] and all(n > 0 for n in f["points"].values())
                           for f in figures)


def test_the_floor_is_recorded_by_the_runs_and_read_by_the_report_without_data(study_dir, monkeypatch):
    """The real-vs-real floor is made with the reference, when a run is scored, and stored in
    its result.json; writing the report loads no data and no evaluator (here: neither can be
    found), yet shows the same floor."""
    import json

    from ganstudy.report.write import write_report

    recorded = [json.loads(p.read_text()).get("floor") for p in study_dir.glob("runs/baseline/*/result.json")]
    assert len(recorded) == 2 and recorded[0] == recorded[1] and recorded[0]["metrics"]["fid"] > 0
    assert recorded[0]["note"].startswith("300 real training images scored against the reference")
    monkeypatch.setenv("GANSTUDY_DATA", "/nonexistent")

    def no_data(*args, **kwargs):
        raise AssertionError("the report loaded data")

    monkeypatch.setattr("ganstudy.data.prepare.load_training_data", no_data)
    monkeypatch.setattr("ganstudy.training.scoring.scoring_setup", no_data)
    res, _ = write_report(study_dir)
    assert res.floor == recorded[0]["metrics"] and res.floor_note == recorded[0]["note"]
    assert f"{recorded[0]['metrics']['fid']:.4g}" in (study_dir / "report" / "report.md").read_text()


def test_the_floors_absence_is_said_as_it_is():
    """No scored baseline run (all diverged, or none ended): 'not available yet'; scored runs
    from before runs recorded it: 'not recorded'; a recorded floor is taken as it is."""
    from ganstudy.report.collect import recorded_floor
    from ganstudy.storage.results import RunInfo
    from ganstudy.verdicts.compare import RunRow

    def run(metrics, floor=None, case="baseline", status="complete"):
        return RunInfo(RunRow(case, 0, status, metrics, {}, "h"), None, {}, None, floor=floor)

    assert recorded_floor([run({}, status="diverged")])[1].startswith("real-vs-real floor not available yet")
    assert "scored by an earlier ganstudy" in recorded_floor([run({"fid": 5.0})])[1]
    floor = {"metrics": {"fid": 4.5}, "note": "300 real training images"}
    assert recorded_floor([run({"fid": 9.0}, case="lr"), run({"fid": 5.0}, floor)]) == ({"fid": 4.5}, floor["note"])


def test_a_baseline_alone_is_said_to_have_nothing_to_compare(tmp_path):
    """A study of its baseline only: its runs are scored, so 'no run has been scored yet' would
    be false; the report says there is nothing to compare, shows the floor and says '1 seed'."""
    from conftest import TINY_STUDY

    path = tmp_path / "alone.toml"
    path.write_text(TINY_STUDY.format(name="alone", iterations=4, checkpoint_every=10, extra="")
                    .replace("seeds = 2", "seeds = 1").split("[[cases]]")[0])
    from ganstudy.report.write import write_report

    run_study(path, tmp_path / "out", live=False)
    write_report(tmp_path / "out")
    text = (tmp_path / "out" / "report" / "report.md").read_text()
    assert "no case besides its baseline" in text and "scored yet" not in text
    assert "Seeds: 1 seed." in text and "Real data scores" in text
