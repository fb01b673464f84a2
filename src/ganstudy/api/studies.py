"""Studies from Python and for the CLI: load and plan a study, run it, and read a study
folder's runs, verdicts and report as values (``Records``: plain dicts)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.errors import GanstudyError
from ..base.status import Status
from ..execution.runner import StudySummary
from ..spec.study import Study


class Records(list):
    """Rows as plain dicts (what ``results.csv`` holds), shown as a table in Jupyter."""

    def to_pandas(self):  # noqa: ANN201 - a pandas.DataFrame, pandas being optional
        try:
            import pandas as pd
        except ImportError:
            raise GanstudyError("to_pandas() needs pandas: pip install -e \".[notebook]\" (or pip install pandas); "
                                "the rows are plain dicts without it.") from None
        return pd.DataFrame(list(self))

    def _repr_html_(self) -> str:
        columns = list(dict.fromkeys(k for row in self for k in row))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
                       for row in self)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def overrides(values: Mapping[str, Any] | Sequence[str] | None) -> list[str]:
    """``{"optim.lr": 1e-3}`` or ``["optim.lr=0.001"]`` as the CLI's ``--set`` strings."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        import tomli_w

        return [f"{k}={tomli_w.dumps({'v': v}).split('=', 1)[1].strip()}" for k, v in values.items()]
    if isinstance(values, str):
        return [values]
    return list(values)


def load(study: str | Path, set: Mapping[str, Any] | Sequence[str] | None = None,  # noqa: A002
         seeds: int | None = None, max_seeds: int | None = None, out: str | Path | None = None) -> Study:
    """A study file (or a study folder) loaded and every case validated, with ``set`` applied
    to every case (``{"train.iterations": 300}``) and ``seeds`` / ``max_seeds`` as ``run``
    takes them; ``out``, the study folder ``run`` would use, is checked as ``run`` checks it."""
    from ..storage.studyfolder import open_study

    loaded, folder, given = open_study(study, out, overrides(set), seeds, max_seeds)
    loaded.source, loaded.overrides, loaded.folder = Path(study), given, folder
    return loaded


def preflight(study: Study, data_root: str | Path | None = None) -> None:
    """Everything ``run`` checks before it trains: the data every case reads (files, splits,
    shapes), the memory a run needs, the study folder's disk, the loggers; for the runs not
    ended, as ``run`` would. Nothing is made: no study folder, no probe file (an existing
    study folder's index is brought up to date from its run folders, as ``status`` does; data
    missing from every data folder is downloaded to the cache, as ``run`` would). A
    GanstudyError says every problem at once (``ganstudy plan`` exits 2 where ``run`` would)."""
    from ..base.status import ENDED
    from ..execution.preflight import check
    from ..storage.index import StudyStore
    from ..storage.studyfolder import is_study_folder

    folder = study.folder or Path("ganstudy-runs") / study.path.stem
    specs = study.runs()
    if folder.is_dir() and is_study_folder(folder):  # run checks only what it would train: the runs not ended
        ended = {r.run_hash for r in StudyStore.reading(folder).all_runs() if r.status in ENDED}
        specs = [spec for spec in specs if spec.run_hash not in ended]
    if specs:
        check(specs, folder, data_root, write=False)


def declared_imports(study: str | Path) -> list[str]:
    """The modules a study file (or a study folder's file) names in ``[study] imports``, read
    without importing them: a study file with imports runs their code, and a user is told so first."""
    from ..spec.layers import load_toml
    from ..spec.study import declared_imports as checked
    from ..storage.studyfolder import STUDY_FILE

    path = Path(study)
    path = path / STUDY_FILE if path.is_dir() else path
    return checked(load_toml(path), path) if path.is_file() else []  # none there: loading it says why


def plan(study: Study | str | Path) -> Records:
    """The cases of a study: what each changes and how many runs it trains (``ganstudy plan``)."""
    from ..report.plan import plan_rows

    loaded = study if isinstance(study, Study) else load(study)
    return Records(plan_rows(loaded))


def run(study: Study | str | Path, out: str | Path | None = None, *, set: Mapping[str, Any] | Sequence[str] | None = None,  # noqa: A002
        seeds: int | None = None, max_seeds: int | None = None, workers: int | str = "auto",
        executor: str = "local", executor_options: dict[str, Any] | None = None, data_root: str | Path | None = None,
        device: str = "auto", live: bool | None = False, retry_failed: bool = False,
        report: bool = True, live_report: bool = True) -> StudyFolder:
    """Train what the study still needs (``ganstudy run``), then write its report. Running it
    again resumes, or does nothing once everything has ended. ``live=False`` prints plain
    progress lines (a notebook's output), ``None`` a live view on a terminal. With
    ``live_report`` the report is rewritten as runs end ("partial: N of M runs")."""
    from ..execution.runner import RunOptions, run_study
    from ..report.live import LiveReport

    path, given = (study.source or study.path, study.overrides) if isinstance(study, Study) else (Path(study), [])
    options = RunOptions(seeds=seeds, max_seeds=max_seeds, workers=workers, executor=executor,
                         executor_options=executor_options, data_root=data_root, device=device,
                         overrides=overrides(set) or given or None, live=live, retry_failed=retry_failed,
                         on_run_end=LiveReport() if live_report else None)
    summary = run_study(path, out, options)
    folder = StudyFolder(summary.out, summary)
    ended_now = summary.counts.get(Status.COMPLETE, 0) + summary.counts.get(Status.DIVERGED, 0)
    if report and not (summary.interrupted and not ended_now):
        folder.report()
    return folder


def open(folder: str | Path, data_root: str | Path | None = None) -> StudyFolder:  # noqa: A001
    """A study folder that ``run`` (or ``ganstudy run``) wrote, to read or report. (``data_root``
    is accepted for older callers: a report reads its runs, never the data.)"""
    from ..storage.studyfolder import study_folder

    return StudyFolder(study_folder(folder))


@dataclass
class Report:
    """A study's report files; Jupyter shows report.html inline."""

    folder: Path
    summary: str
    warnings: list[str]

    @property
    def html(self) -> str:
        return (self.folder / "report.html").read_text(encoding="utf-8")

    @property
    def markdown(self) -> str:
        return (self.folder / "report.md").read_text(encoding="utf-8")

    def _repr_html_(self) -> str:
        # In a frame of its own: the report's styles never leak into the notebook's.
        return (f"<iframe srcdoc=\"{html.escape(self.html, quote=True)}\" style=\"width:100%;height:720px;"
                f"border:1px solid #ccc\" title=\"ganstudy report\"></iframe>")

    def __str__(self) -> str:
        return f"{self.summary}\nreport: {self.folder / 'report.html'} (also report.md, results.csv)"


@dataclass
class StudyFolder:
    """A study folder: its runs, verdicts and report."""

    path: Path
    summary: StudySummary | None = None  # what the ``run`` that returned it did

    def study(self) -> Study:
        return load(self.path)

    def status(self) -> Records:
        """A row a case x seed: its state, progress, wall time and final losses (``ganstudy status``)."""
        from ..storage.studyfolder import status_rows

        return Records(status_rows(self.path)[1])

    def runs(self) -> Records:
        """A row a case x seed: identity, status, every metric and the final losses."""
        from ..report.collect import collect

        res = collect(self.path, floor=False)
        rows = Records()
        for r in res.runs:
            plan = res.study.case(r.row.case)
            rows.append({"case": r.row.case, "seed": r.row.seed, "run_hash": r.row.run_hash, "status": r.row.status,
                         "collapsed": r.row.collapsed(res.n_classes), "wall_seconds": r.wall_seconds,
                         **(dict(zip(plan.point.keys, plan.point.values)) if plan.point else {}),
                         **r.row.metrics, **{f"final.{k}": v for k, v in r.row.final.items()}})
        return rows

    def verdicts(self, metric: str | None = None) -> Records:
        """A row a case: its verdict on ``metric`` (the study's primary metric by default), the
        medians, the difference with its interval, the p-values and the reason. A figure no
        test gave (a case that does not change training, one not analysed yet) is None."""
        from ..report.collect import collect

        res = collect(self.path, floor=False)
        metric = metric or res.primary
        if metric not in res.comparisons:
            raise GanstudyError(f"{self.path}: no verdicts on {metric!r} (yet); metrics: {', '.join(res.comparisons)}.")
        rows = Records()
        for c in res.comparisons[metric]:
            plan = res.study.case(c.case)
            rows.append({"case": c.case, "title": plan.title, "expected": plan.expect, "verdict": c.verdict,
                         "metric": metric, **(dict(zip(plan.point.keys, plan.point.values)) if plan.point else {}),
                         "against": c.against, "baseline_median": c.baseline_median, "case_median": c.case_median,
                         "difference": c.diff, "ci_low": c.ci_low, "ci_high": c.ci_high, "ci_level": c.ci_level,
                         "ci_level_at_its_look": c.ci_level_look, "band": c.band, "p_value": c.p_value,
                         "p_adjusted": c.p_adjusted, "seeds": c.seeds, "baseline_seeds": c.baseline_seeds,
                         "seeds_needed": c.seeds_needed, "stopped_early": c.futile, "reason": c.reason})
        return rows

    def report(self, rewrite: bool = False) -> Report:
        """The report, written now unless it is current (made from these very results)."""
        from ..report.write import is_current, summary_of, write_report

        if rewrite or not is_current(self.path):
            res, folder = write_report(self.path)
            return Report(folder, res.summary, res.warnings)
        return Report(self.path / "report", summary_of(self.path), [])

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()


def plan_notes(study: Study, out: str | Path | None = None) -> tuple[list[str], list[str]]:
    """What ``ganstudy plan`` says under its table (sweeps, bf16, runs and stacks, power):
    (lines, warnings). ``out`` is the study folder whose baseline runs give the power its spread."""
    from ..report.plan import plan_notes as notes

    return notes(study, out)


def estimate(study: Study, data_root: str | Path | None = None, workers: int | None = None) -> list[str]:
    """The study's wall time on this machine, from a few timed iterations of each distinct
    architecture (``ganstudy plan --estimate``), over ``workers`` processes (None: as ``run
    --workers auto`` would choose), as lines; a GanstudyError where it cannot be timed."""
    from ..execution.estimate import estimate as timed

    return timed(study, data_root, workers).lines()


def add_seeds(folder: str | Path, n: int) -> list[int] | Any:
    """Give a study folder more seeds (``ganstudy add-seeds``): a fixed study's new list of
    seeds, or an adaptive study's new range (``min``, ``max``). ``run(folder)`` trains them."""
    from ..storage.studyfolder import add_seeds as add

    return add(folder, n)


def promote(folder: str | Path, case: str, out: str | Path | None = None, force: bool = False) -> Path:
    """Write a new study file whose baseline is ``case`` of a study folder (``ganstudy promote``)."""
    from ..storage.lineage import promote as write

    return write(folder, case, out, force)


def watch(folder: str | Path, every: float = 10.0) -> int:
    """Rewrite a study folder's report every ``every`` seconds while its runs end (``ganstudy
    report --watch``), until Ctrl-C."""
    from ..report.live import watch as follow

    return follow(folder, every)
