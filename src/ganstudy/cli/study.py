"""The commands of a study: ``ganstudy run``, ``report``, ``status``, ``add-seeds``,
``promote`` and ``plan`` (with its power arithmetic before any training)."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from .. import api
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


def say_imports(study: str) -> None:
    """Name the modules a study file imports before they are imported (they run code)."""
    names = api.declared_imports(study)
    if names:
        print(f"{study} imports {', '.join(names)} ([study] imports): a study file with imports runs its code here "
              "and in every worker process, so trust it as you would a script.", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    say_imports(args.study)
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
    write_report(where)
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


def write_report(where: Path) -> None:
    """Write the study's report unless it is current, then say what it found and where it is."""
    print(api.open(where).report())


def cmd_report(args: argparse.Namespace) -> int:
    folder = api.open(args.dir)
    if args.watch:
        if args.every <= 0:
            raise GanstudyError("--every: give a number of seconds above 0.")
        try:
            return api.watch(folder.path, args.every)
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
    seeds = api.add_seeds(args.dir, args.n)
    if not isinstance(seeds, list):  # adaptive: a new range
        print(f"{args.dir}: seeds are now {seeds.min} to {seeds.max}, adaptive: the cases still undecided (and the "
              f"baseline) get more. Run `ganstudy run {args.dir}` to train them.")
    else:
        print(f"{args.dir}: seeds are now {seeds}. Run `ganstudy run {args.dir}` to train the new ones.")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    target = api.promote(args.dir, args.case, args.out, args.force)
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
    say_imports(args.study)
    study = api.load(args.study, set=args.set, seeds=args.seeds, max_seeds=args.max_seeds, out=args.out)
    rows = api.plan(study)
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"study {study.meta.name!r}: {len(study.cases) - 1} cases + baseline, seeds {study.seeds_text()}, "
          f"primary metric {study.meta.metric}")
    print(_table(rows, ("case", "title", "changes", "runs"), width))
    lines, warnings = api.plan_notes(study, args.out)
    print("\n".join(lines))
    for warning in warnings:
        print(warning, file=sys.stderr)
    sys.stdout.flush()
    api.preflight(study, args.data_root)  # what run refuses before training, plan refuses too (after its table)
    if args.estimate:  # the study's wall time here, from a few timed iterations of each distinct architecture
        try:
            lines = api.estimate(study, args.data_root, workers=None if args.workers == "auto" else args.workers)
        except GanstudyError as exc:
            lines = [f"estimated time: not available here ({exc})"]
        print()
        print("\n".join(lines))
    return 0
