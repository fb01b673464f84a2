"""The commands of a study: ``ganstudy run``, ``report``, ``status``, ``add-seeds``,
``promote`` and ``plan`` (with its power arithmetic before any training)."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from ..base.errors import GanstudyError
from ..base.status import Status


def count_or_auto(what: str):  # noqa: ANN201 - an argparse type
    """An argparse type: a whole number of ``what`` (1 or more), or auto."""
    def parse(value: str) -> int | str:
        if value == "auto":
            return value
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of {what} (1 or more) or auto")
        return n
    return parse


workers_arg = count_or_auto("workers")


def cmd_run(args: argparse.Namespace) -> int:
    from .. import api

    options = {}
    if args.executor == "ray":
        options = {"address": args.address, "cpus_per_run": args.cpus_per_run, "gpus_per_run": args.gpus_per_run}
        if args.shared_fs is not None:
            options["shared_fs"] = args.shared_fs == "yes"
    elif args.address or args.gpus_per_run or args.cpus_per_run != 1 or args.shared_fs:
        raise GanstudyError("--address, --cpus-per-run, --gpus-per-run and --shared-fs are options of --executor ray.")
    summary = api.run(args.study, args.out, set=args.set, seeds=args.seeds, max_seeds=args.max_seeds,
                      workers=args.workers, executor=args.executor, executor_options=options, data_root=args.data_root,
                      device=args.device, live=False if args.quiet else None, retry_failed=args.retry_failed,
                      report=False).summary
    where = summary.out
    ended_now = summary.counts.get(Status.COMPLETE, 0) + summary.counts.get(Status.DIVERGED, 0)
    if summary.interrupted and not ended_now:  # nothing new to report: say so and stop, fast
        print(f"Interrupted; progress is saved. Run `ganstudy run {where}` to continue.", file=sys.stderr)
        return 130
    write_report(where, args.data_root)
    if summary.nothing_to_do:
        print(f"Nothing to do: all {summary.runs} runs of study '{summary.study}' in {where} have ended "
              f"(`ganstudy status {where}` lists them).")
        return 0
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items())) or "no run"
    print(f"study '{summary.study}' in {where}: {summary.skipped} of {summary.runs} runs were already done; "
          f"this time: {counts}.")
    for line in summary.gave_up:
        print(f"gave up after repeated failures: {line} (`ganstudy run {where} --retry-failed` tries again)",
              file=sys.stderr)
    for line in summary.busy:
        print(f"not trained here: {line}; run again once it has ended", file=sys.stderr)
    if summary.interrupted:
        print(f"Interrupted; progress is saved. Run `ganstudy run {where}` to continue.", file=sys.stderr)
        return 130
    return 1 if summary.counts.get(Status.FAILED) or summary.gave_up or summary.busy else 0


def write_report(where: Path, data_root: str | None) -> None:
    """Write the study's report unless it is current, then say what it found and where it is."""
    from .. import api

    print(api.open(where, data_root).report())


def cmd_report(args: argparse.Namespace) -> int:
    from .. import api

    folder = api.open(args.dir, args.data_root)
    if args.watch:
        from ..report.live import watch

        if args.every <= 0:
            raise GanstudyError("--every: give a number of seconds above 0.")
        try:
            return watch(folder.path, args.every, args.data_root)
        except KeyboardInterrupt:
            print("stopped watching; the report is as of its last rewrite", file=sys.stderr)
            return 0
    report = folder.report(rewrite=True)
    print(report.summary)
    for warning in report.warnings:
        print(f"warning: {warning}")
    print(f"report: {report.folder / 'report.html'} (also report.md, results.csv)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .. import api

    folder = api.open(args.dir)
    rows = folder.status()
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"study {folder.study().meta.name!r} in {args.dir}")
    print(_table(rows, ("case", "seed", "run", "state", "progress", "wall", "final", "note"), width))
    states: dict[str, int] = {}
    for r in rows:
        if not r["note"].startswith("shares"):
            states[r["state"]] = states.get(r["state"], 0) + 1
    print("runs: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    return 0


def cmd_add_seeds(args: argparse.Namespace) -> int:
    from ..spec.settings import SeedRange
    from ..storage.studyfolder import add_seeds

    seeds = add_seeds(args.dir, args.n)
    if isinstance(seeds, SeedRange):
        print(f"{args.dir}: seeds are now {seeds.min} to {seeds.max}, adaptive: the cases still undecided (and the "
              f"baseline) get more. Run `ganstudy run {args.dir}` to train them.")
    else:
        print(f"{args.dir}: seeds are now {seeds}. Run `ganstudy run {args.dir}` to train the new ones.")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from ..storage.lineage import promote

    target = promote(args.dir, args.case, args.out, args.force)
    print(f"wrote {target}: case '{args.case}' is its baseline. Next: ganstudy plan {target}")
    return 0


def _table(rows: list[dict[str, str]], columns: Sequence[str], width: int) -> str:
    """A plain-text table whose last wide columns wrap to fit the terminal."""
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    fixed = sum(widths[c] for c in columns if c not in ("changes", "title")) + 3 * (len(columns) - 1)
    room = max(width - fixed, 30)
    if "changes" in columns and "title" in columns:
        widths["title"] = min(widths["title"], max(room // 3, 12))
        widths["changes"] = min(widths["changes"], max(room - widths["title"], 18))
    lines = [" | ".join(c.ljust(widths[c]) for c in columns), "-+-".join("-" * widths[c] for c in columns)]
    for r in rows:
        cells = {c: textwrap.wrap(r[c], widths[c]) or [""] for c in columns}
        for i in range(max(len(v) for v in cells.values())):
            lines.append(" | ".join((cells[c][i] if i < len(cells[c]) else "").ljust(widths[c]) for c in columns).rstrip())
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    from .. import api
    from ..report.plan import sweep_lines

    study = api.load(args.study, set=args.set)
    rows = api.plan(study)
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"study {study.meta.name!r}: {len(study.cases) - 1} cases + baseline, seeds {study.seeds_text()}, "
          f"primary metric {study.meta.metric}")
    print(_table(rows, ("case", "title", "changes", "runs"), width))
    for line in sweep_lines(study):
        print(line)
    from ..machine.precision import plan_line

    print(plan_line({p.id: p.config.train.precision for p in study.cases}))
    runs = study.runs()
    total = sum(len(study.case_seeds(p.id)) for p in study.cases)
    most = "at most " if study.meta.adaptive else ""
    print(f"{most}{len(runs)} runs to train ({total} case x seed pairs; {total - len(runs)} shared with identical "
          "training)")
    from ..training.stack import batching_pays, stack_key

    pays = [batching_pays(r.config) for r in runs]
    batched = {stack_key(r.config) for r, p in zip(runs, pays) if p}
    alone = pays.count(False)
    if batched:
        print(f"stacked: the runs train as {len(batched)} groups, each one batched model (the seeds of a case, "
              "and cases that differ only in learning rate, Adam settings, schedule, data scaling, loss or dropout rate)"
              + (f", {alone} alone (train.stack = false, or convolutional on a CPU)" if alone else "")
              + "; ganstudy run splits groups further to keep every --workers slot busy")
    else:
        print("seed batching: none (train.stack = false, or convolutional networks on a CPU, "
              "where it does not pay); each run trains alone")
    code = _print_power(study, args.out)
    if args.estimate:
        _print_estimate(study, args.data_root)
    return code


def _print_estimate(study, data_root: str | None) -> None:  # noqa: ANN001 - a Study
    """The study's wall time here, from a few timed iterations of each distinct architecture."""
    from ..execution.estimate import estimate

    try:
        lines = estimate(study, data_root).lines()
    except GanstudyError as exc:
        lines = [f"estimated time: not available here ({exc})"]
    print()
    print("\n".join(lines))


def _print_power(study, out: str | None) -> int:  # noqa: ANN001 - a Study
    """The power arithmetic before any training: what the seeds and cases can find."""
    from ..stats.power import HOPELESS, plan_power

    tested = [p for p in study.cases[1:] if p.same_as != "baseline"]
    if not tested:
        print("\nstatistics: no case that changes training, so nothing to decide")
        return 0
    spread, band = _baseline_spread(study, out)
    power = plan_power(study.design(), len(tested), spread, band)
    print()
    print("\n".join(power.lines(study.meta.metric)))
    if not power.can_decide:
        print(f"WARNING: with these seeds and {len(tested)} cases no verdict is reachable: no change smaller than "
              f"{HOPELESS:g} seed-SDs beyond the band, and no count of failed runs, can be shown. Give more seeds "
              "(seeds = { min = 3, max = 12 } adds them only where needed), or fewer cases.", file=sys.stderr)
    elif power.detectable > 3:
        print(f"warning: only changes larger than the band plus {power.detectable:.1f} seed-SDs can be found; "
              "more seeds (or adaptive seeds) find smaller ones.", file=sys.stderr)
    return 0


def _baseline_spread(study, out: str | None) -> tuple[float | None, float | None]:  # noqa: ANN001
    """(seed-SD, band) of the primary metric from the baseline's runs, once a study folder has them."""
    import numpy as np

    from ..storage.index import StudyStore
    from ..storage.results import n_classes, study_table
    from ..storage.studyfolder import resolve_study
    from ..verdicts.compare import equivalence_band

    folder = Path(out) if out else resolve_study(study.path, None)[1]
    if not (folder / "index.sqlite").is_file():
        return None, None
    rows = [r.row for r in study_table(study, StudyStore(folder)) if r.row.case == "baseline"]
    classes = n_classes(study)
    values = [r.metrics[study.meta.metric] for r in rows if r.usable(classes) and study.meta.metric in r.metrics]
    if len(values) < 2:
        return None, None
    first = study.seeds[: study.design().baseline_looks[0]]
    band = equivalence_band([r.metrics[study.meta.metric] for r in rows if r.seed in first and r.usable(classes)
                             and study.meta.metric in r.metrics], study.meta.equivalence, study.meta.equivalence_abs)
    return float(np.std(values, ddof=1)), band
