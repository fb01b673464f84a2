"""The ``ganstudy`` command: thin sub-commands over the Python API.

A user mistake (a bad key, a missing file) prints one paragraph and exits with status 2;
Ctrl-C exits with 130 after saving what can be resumed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import GanstudyError


def _add_data_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", metavar="DIR", default=None,
                        help="folder with one sub-folder per dataset (before $GANSTUDY_DATA and the user cache)")


def _add_training_options(parser: argparse.ArgumentParser, set_help: str, resume: bool = True) -> None:
    """Options every command that trains takes."""
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help=set_help)
    if resume:
        parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--quiet", action="store_true", help="no live view: plain log lines")
    _add_data_root(parser)


def _progress_bar(enabled: bool):
    """A tqdm bar on a terminal; plain lines every 10% otherwise (logs, CI)."""
    from tqdm import tqdm

    state: dict[str, object] = {}

    def update(done: int, total: int, last: dict[str, float]) -> None:
        if enabled:
            bar = state.get("bar")
            if bar is None:
                bar = state["bar"] = tqdm(total=total, initial=done - 1, unit="it", dynamic_ncols=True, mininterval=0.25)
            bar.update(done - bar.n)  # type: ignore[attr-defined]
            if last and done % 25 == 0:
                bar.set_postfix_str(f"D {last['d_loss']:.4f} acc {100 * last['d_acc']:.1f}% G {last['g_loss']:.4f}",
                                    refresh=False)  # type: ignore[attr-defined]
            if done == total:
                bar.close()  # type: ignore[attr-defined]
        elif done == total or done % max(total // 10, 1) == 0:
            loss = f" D loss {last['d_loss']:.4f} acc {100 * last['d_acc']:.1f}% G loss {last['g_loss']:.4f}" if last else ""
            print(f"iteration {done}/{total}{loss}", file=sys.stderr, flush=True)

    return update


def _check_out(out: Path) -> None:
    """Can ``out`` be the run's folder? Checked before anything is loaded, and nothing is created."""
    import os

    if out.exists() and not out.is_dir():
        raise GanstudyError(f"--out {out}: a file stands there; give a folder.")
    first = out.absolute()
    while not first.exists():
        first = first.parent
    if not first.is_dir():
        raise GanstudyError(f"--out {out}: {first} is a file, so no folder can be made under it; give another --out.")
    if not os.access(first, os.W_OK):
        raise GanstudyError(f"--out {out}: {first} cannot be written; give a folder you can write to.")


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _train_and_report(trainer, resume: bool) -> int:
    result = trainer.run(resume=resume)
    if result.summary:
        print(result.summary)
    if result.status == "interrupted":
        print(f"Interrupted at iteration {result.iterations}; run the same command with --resume to continue.",
              file=sys.stderr)
        return 130
    if result.status == "diverged":
        print(f"Run diverged: {result.reason}. The last good checkpoint is kept in {trainer.dir / 'checkpoints'}.",
              file=sys.stderr)
        return 3
    if result.metrics:
        from .metrics import get

        arrows = {}
        for name in result.metrics:
            try:
                arrows[name] = " (lower is better)" if get(name).lower_is_better else " (higher is better)"
            except KeyError:
                arrows[name] = ""  # companions such as kid_se
        reference = (result.protocol or {}).get("reference", "")
        print(f"scores against {reference}:" if reference else "scores:", file=sys.stderr)
        for name, value in result.metrics.items():
            print(f"  {name:22s} {value:12.6g}{arrows[name]}", file=sys.stderr)
    print(f"{result.status}: {result.iterations} iterations in {result.wall_seconds:.1f}s; outputs in {trainer.dir} "
          "(scores in result.json)", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import Trainer

    cfg = load_config(args.config, args.set or [])
    _check_out(Path(args.out))  # an impossible --out fails now, not after loading data
    trainer = Trainer(cfg, Path(args.out), data_root=args.data_root, device=args.device,
                      progress=_progress_bar(sys.stderr.isatty() and not args.quiet), log=_log)
    return _train_and_report(trainer, args.resume)


def cmd_finetune(args: argparse.Namespace) -> int:
    from .lineage import finetune_config
    from .train import Trainer

    from .checkpoints import CHECKPOINT, load

    cfg = finetune_config(args.run_dir, args.set or [], args.iterations)
    load(Path(args.run_dir) / CHECKPOINT)  # a damaged source fails before anything is written
    _check_out(Path(args.out))
    trainer = Trainer(cfg, Path(args.out), data_root=args.data_root, device=args.device, init_from=args.run_dir,
                      progress=_progress_bar(sys.stderr.isatty() and not args.quiet), log=_log)
    return _train_and_report(trainer, args.resume)


def _workers(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of workers (1 or more) or auto")
    return n


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_study

    options = {}
    if args.executor == "ray":
        options = {"address": args.address, "cpus_per_run": args.cpus_per_run, "gpus_per_run": args.gpus_per_run}
        if args.shared_fs is not None:
            options["shared_fs"] = args.shared_fs == "yes"
    elif args.address or args.gpus_per_run or args.cpus_per_run != 1 or args.shared_fs:
        raise GanstudyError("--address, --cpus-per-run, --gpus-per-run and --shared-fs are options of --executor ray.")
    summary = run_study(args.study, args.out, seeds=args.seeds, max_seeds=args.max_seeds, workers=args.workers,
                        executor=args.executor,
                        executor_options=options, data_root=args.data_root, device=args.device, overrides=args.set,
                        live=False if args.quiet else None, retry_failed=args.retry_failed)
    where = summary.out
    ended_now = summary.counts.get("complete", 0) + summary.counts.get("diverged", 0)
    if summary.interrupted and not ended_now:  # nothing new to report: say so and stop, fast
        print(f"Interrupted; progress is saved. Run `ganstudy run {where}` to continue.", file=sys.stderr)
        return 130
    _report(where, args.data_root)
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
    return 1 if summary.counts.get("failed") or summary.gave_up or summary.busy else 0


def _report(where: Path, data_root: str | None) -> None:
    """Write the study's report unless it is current, then say what it found and where it is."""
    from .report import is_current, summary_of, write_report

    folder = Path(where) / "report"
    if is_current(where):
        print(summary_of(where))
    else:
        res, folder = write_report(where, data_root=data_root)
        print(res.summary)
    print(f"report: {folder / 'report.html'} (also report.md, results.csv)")


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    res, folder = write_report(args.dir, data_root=args.data_root)
    print(res.summary)
    for warning in res.warnings:
        print(f"warning: {warning}")
    print(f"report: {folder / 'report.html'} (also report.md, results.csv)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .runner import status_rows

    study, rows = status_rows(args.dir)
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"study {study.meta.name!r} in {args.dir}")
    print(_table(rows, ("case", "seed", "run", "state", "progress", "wall", "final", "note"), width))
    states: dict[str, int] = {}
    for r in rows:
        if not r["note"].startswith("shares"):
            states[r["state"]] = states.get(r["state"], 0) + 1
    print("runs: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    return 0


def cmd_add_seeds(args: argparse.Namespace) -> int:
    from .runner import add_seeds

    from .study import SeedRange

    seeds = add_seeds(args.dir, args.n)
    if isinstance(seeds, SeedRange):
        print(f"{args.dir}: seeds are now {seeds.min} to {seeds.max}, adaptive: the cases still undecided (and the "
              f"baseline) get more. Run `ganstudy run {args.dir}` to train them.")
    else:
        print(f"{args.dir}: seeds are now {seeds}. Run `ganstudy run {args.dir}` to train the new ones.")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from .lineage import promote

    target = promote(args.dir, args.case, args.out, args.force)
    print(f"wrote {target}: case '{args.case}' is its baseline. Next: ganstudy plan {target}")
    return 0


def _print_metrics(title: str, scored: dict) -> None:
    from .metrics import get

    print(title)
    print(f"protocol: {scored['protocol']['id']} (reference: {scored['protocol']['reference']})")
    for name, value in scored["metrics"].items():
        try:
            arrow = "lower is better" if get(name).lower_is_better else "higher is better"
        except KeyError:
            arrow = ""  # companions such as kid_se
        print(f"  {name:22s} {value:12.6g}  {arrow}")


def cmd_eval(args: argparse.Namespace) -> int:
    from .config import load_config
    from .data import load_training_data
    from .evaluation import evaluate, reference_for
    from .metrics import Features, protocol, score
    from .metrics.evaluator import load as load_evaluator
    from .metrics.reference import reference_stats

    if args.real:
        cfg = load_config(None, [f"data.dataset={args.real}", f"data.split={args.split}"] + (args.set or []))
        evaluator = load_evaluator(cfg.data.dataset)
        data = load_training_data(cfg.data, args.data_root).train
        half = len(data) // 2
        a = reference_stats(evaluator, data.images[:half], None, f"{args.real} {args.split} split [0:{half}]")
        b = reference_stats(evaluator, data.images[half : 2 * half], None,
                            f"{args.real} {args.split} split [{half}:{2 * half}]")
        values = score(Features(a.features, a.probs, a.radii), Features(b.features, b.probs), cfg.eval.metrics)
        _print_metrics(f"real vs real floor: two disjoint halves of {args.real} {args.split} ({half} images each)",
                       {"metrics": values, "protocol": protocol(evaluator, a, half)})
        return 0
    if not args.run_dir:
        raise GanstudyError("ganstudy eval: give a RUN_DIR to score, or --real DATASET for the real-vs-real floor.")
    from .config import Layer, build_config, flatten, parse_overrides
    from .train import derive_seed, load_generator

    g, cfg = load_generator(args.run_dir, args.checkpoint)
    if args.set:
        cfg = build_config([Layer("config.json", flatten(cfg.model_dump(mode="json"))), parse_overrides(args.set)])
    checkpoint = args.checkpoint or Path(args.run_dir) / "checkpoints" / "last.pt"
    evaluator = load_evaluator(cfg.data.dataset)
    data = load_training_data(cfg.data, args.data_root)
    reference = reference_for(cfg, data, evaluator, args.data_root)
    scored = evaluate(g, cfg, evaluator, reference, derive_seed(cfg.train.seed, "eval", cfg.eval.seed))
    _print_metrics(f"{checkpoint}:", scored)
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    from .metrics.evaluator import train

    card = train(args.dataset, args.data_root, args.out, epochs=args.epochs, seed=args.seed,
                 log=lambda line: print(line, file=sys.stderr))
    print(f"evaluator for {card['dataset']}: held-out accuracy {100 * card['held_out_accuracy']:.2f}% "
          f"on {card['held_out_data']}; sha256 {card['sha256'][:16]}...")
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
    from .study import load_study, plan_rows

    study = load_study(args.study)
    rows = plan_rows(study)
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"study {study.meta.name!r}: {len(study.cases) - 1} cases + baseline, seeds {study.meta.seeds_text()}, "
          f"primary metric {study.meta.metric}")
    print(_table(rows, ("case", "title", "changes", "runs"), width))
    runs = study.runs()
    total = len(study.cases) * len(study.seeds)
    most = "at most " if study.meta.adaptive else ""
    print(f"{most}{len(runs)} runs to train ({total} case x seed pairs; {total - len(runs)} shared with identical "
          "training)")
    from .seed_batch import batching_pays, group_key

    pays = [batching_pays(r.config) for r in runs]
    batched = {group_key(r.config) for r, p in zip(runs, pays) if p}
    alone = pays.count(False)
    if batched:
        print(f"seed-batched: the runs train as {len(batched)} groups of one configuration's seeds"
              + (f", {alone} alone (train.vectorize_seeds = false, or convolutional on a CPU)" if alone else "")
              + "; ganstudy run splits groups further to keep every --workers slot busy")
    else:
        print("seed batching: none (train.vectorize_seeds = false, or convolutional networks on a CPU, "
              "where it does not pay); each run trains alone")
    return _print_power(study, args.out)


def _print_power(study, out: str | None) -> int:  # noqa: ANN001 - a Study
    """The power arithmetic before any training: what the seeds and cases can find."""
    from .stats.power import HOPELESS, plan_power

    tested = [p for p in study.cases[1:] if p.same_as != "baseline"]
    if not tested:
        print("\nstatistics: no case that changes training, so nothing to decide")
        return 0
    spread, band = _baseline_spread(study, out)
    power = plan_power(study.meta.design(), len(tested), spread, band)
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

    from .analysis import equivalence_band
    from .results import study_table
    from .runner import resolve_study
    from .store import StudyStore

    folder = Path(out) if out else resolve_study(study.path, None)[1]
    if not (folder / "index.sqlite").is_file():
        return None, None
    rows = [r.row for r in study_table(study, StudyStore(folder)) if r.row.case == "baseline"]
    values = [r.metrics[study.meta.metric] for r in rows if r.usable() and study.meta.metric in r.metrics]
    if len(values) < 2:
        return None, None
    first = study.seeds[: study.meta.design().looks[0]]
    band = equivalence_band([r.metrics[study.meta.metric] for r in rows if r.seed in first and r.usable()
                             and study.meta.metric in r.metrics], study.meta.equivalence, study.meta.equivalence_abs)
    return float(np.std(values, ddof=1)), band


def cmd_keys(args: argparse.Namespace) -> int:
    from .config import key_help

    for key, default, description in key_help():
        if args.filter and args.filter not in key:
            continue
        print(f"{key} = {default!r}" + (f"    # {description}" if description else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "datasets":
        from .data.registry import get, names

        for name in names():
            print(f"{name:15s} {get(name).summary}")
    elif args.what == "archs":
        from .models.registry import get, names

        for name in names():
            print(f"{name:15s} {get(name).summary}")
    else:
        from .losses import get, names

        for name in names():
            print(f"{name:15s} {get(name).summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganstudy", description="GAN ablation studies with seeds, metrics and verdicts.")
    parser.add_argument("--version", action="version", version=f"ganstudy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one GAN run", description="Train one run. Defaults reproduce Keras-GAN's gan.py.")
    p.add_argument("config", nargs="?", help="TOML file with [data], [model], [loss], [optim], [train], [eval] sections")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    _add_training_options(p, "override a key, e.g. --set optim.lr=0.001")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("run", help="run a study: every case x seed not yet done; resumes what was interrupted")
    p.add_argument("study", help="study TOML file, or a study folder to continue")
    p.add_argument("--out", metavar="DIR", help="study folder (default ganstudy-runs/<study file name>)")
    p.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1 instead of the study's")
    p.add_argument("--max-seeds", type=int, metavar="N",
                   help="adaptive seeds: cases still undecided get more seeds, up to N")
    p.add_argument("--retry-failed", action="store_true",
                   help="give runs that failed 3 times (and were given up) new attempts")
    p.add_argument("--workers", type=_workers, default="auto", metavar="N",
                   help="tasks at once in worker processes, or auto (default): one a core on a CPU, as many as "
                        "there are runs to do and memory allows; 1 on a GPU")
    p.add_argument("--executor", default="local", help="local (default) or ray")
    p.add_argument("--address", metavar="ADDR", help="ray: the cluster's address (default: start a local Ray)")
    p.add_argument("--cpus-per-run", type=float, default=1, metavar="C", help="ray: CPUs (and torch threads) per run")
    p.add_argument("--gpus-per-run", type=float, default=0, metavar="G", help="ray: GPUs per run")
    p.add_argument("--shared-fs", choices=("yes", "no"), help="ray: do workers see the study folder? "
                   "(default: yes for a local Ray, no with --address)")
    _add_training_options(p, "override a key in every case", resume=False)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="analyse a study folder: verdicts, report.md, report.html, results.csv")
    p.add_argument("dir", help="study folder")
    _add_data_root(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="the runs of a study folder and their states")
    p.add_argument("dir", help="study folder")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("add-seeds", help="add N seeds to a study folder's study (then `ganstudy run DIR`)")
    p.add_argument("dir", help="study folder")
    p.add_argument("n", type=int, help="how many seeds to add")
    p.set_defaults(func=cmd_add_seeds)

    p = sub.add_parser("finetune", help="a new run that starts from a run's checkpoint, with new settings")
    p.add_argument("run_dir", help="run folder to start from")
    p.add_argument("--iterations", type=int, metavar="N", help="iterations of the fine-tune")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the new run")
    _add_training_options(p, "new settings, e.g. --set optim.lr=0.0001")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("promote", help="write the next study version with a case as its baseline")
    p.add_argument("dir", help="study folder (or study file)")
    p.add_argument("case", help="case id to promote")
    p.add_argument("--out", metavar="FILE", help="where to write the new study file")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser("eval", help="score a run (or any checkpoint), or print the real-vs-real floor")
    p.add_argument("run_dir", nargs="?", help="run folder")
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint other than the run's last")
    p.add_argument("--real", metavar="DATASET", help="the floor: two disjoint halves of this dataset's real images")
    p.add_argument("--split", default="test", help="split for --real (default test)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="eval settings, e.g. --set eval.samples=2000")
    _add_data_root(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("evaluator", help="evaluator networks (the metrics' feature space)")
    esub = p.add_subparsers(dest="evaluator_command", required=True)
    q = esub.add_parser("train", help="train a dataset's evaluator deterministically")
    q.add_argument("--dataset", required=True)
    q.add_argument("--epochs", type=int, help="default: the dataset's protocol (mnist 30, fashion-mnist 15)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", metavar="DIR", help="folder for weights and model card (default: the user cache)")
    _add_data_root(q)
    q.set_defaults(func=cmd_evaluator_train)

    p = sub.add_parser("plan", help="validate a study file, show its cases and runs, and what its seeds can find")
    p.add_argument("study", help="study TOML file")
    p.add_argument("--out", metavar="DIR", help="its study folder, if it has run (for the power in metric units)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("keys", help="list every config key with its default")
    p.add_argument("filter", nargs="?", help="only keys containing this text")
    p.set_defaults(func=cmd_keys)

    for what in ("datasets", "archs", "losses"):
        p = sub.add_parser(what, help=f"list the registered {what}")
        p.set_defaults(func=cmd_list, what=what)
    return parser


def _os_error(exc: OSError) -> str | None:
    """What the machine refused, as a user can act on it (None: not the user's to fix)."""
    import errno

    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"{where}the disk is full ({exc.strerror}). Free some space (or give another --out) and run the "
                "same command again: everything saved so far (checkpoints, results) is kept.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}cannot be written ({exc.strerror}). Give a folder you can write to (--out)."
    if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return f"{where}{exc.strerror}: a file stands where a folder is needed, or the other way round. Give another --out."
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GanstudyError as exc:
        text = str(exc)
        print(f"ganstudy: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganstudy: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`ganstudy plan ... | head`): not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except OSError as exc:
        message = _os_error(exc)
        if message is None:
            raise
        print(f"ganstudy: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
