"""The commands of one run: ``ganstudy train``, ``finetune``, ``eval`` and ``evaluator train``.
Each says what it does as it does it, and a user's mistake is one clear error (cli.main).
The work is the API's (``api.runs``); this module parses, prints and picks the exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import api
from ..base.errors import GanstudyError
from ..base.status import Status


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


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _said(trained: api.TrainedRun) -> int:
    """Print what a run did; its exit code."""
    result = trained.result
    if result.summary:
        print(result.summary)
    if result.status == Status.INTERRUPTED:
        print(f"Interrupted at iteration {result.iterations}; run the same command with --resume to continue.",
              file=sys.stderr)
        return 130
    if result.status == Status.DIVERGED:
        print(f"Run diverged: {result.reason}. The last good checkpoint is kept in {trained.folder / 'checkpoints'}.",
              file=sys.stderr)
        return 3
    if result.metrics:
        reference = (result.protocol or {}).get("reference", "")
        print(f"scores against {reference}:" if reference else "scores:", file=sys.stderr)
        for name, value in result.metrics.items():
            arrow = api.metric_direction(name)
            print(f"  {name:22s} {value:12.6g}" + (f" ({arrow})" if arrow else ""), file=sys.stderr)
    print(f"{result.status}: {result.iterations} iterations in {result.wall_seconds:.1f}s; outputs in {trained.folder} "
          "(scores in result.json)", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    return _said(api.train(args.config, args.out, set=args.set or [], resume=args.resume, data_root=args.data_root,
                           device=args.device, threads=args.threads, imports=args.imports or [],
                           progress=_progress_bar(sys.stderr.isatty() and not args.quiet), log=_log))


def cmd_finetune(args: argparse.Namespace) -> int:
    if args.case:  # every seed of a study's case, as a new case of the study
        return _finetune_case(args)
    if not args.out:
        raise GanstudyError("finetune RUN_DIR: give --out DIR, the new run's folder (or STUDY_DIR CASE to fine-tune "
                            "every seed of a study's case).")
    return _said(api.finetune(args.run_dir, args.out, set=args.set or [], iterations=args.iterations,
                              resume=args.resume, data_root=args.data_root, device=args.device,
                              progress=_progress_bar(sys.stderr.isatty() and not args.quiet), log=_log))


def _finetune_case(args: argparse.Namespace) -> int:
    from .study import write_report

    if args.out:
        raise GanstudyError("finetune STUDY_DIR CASE: the new runs go into the study folder; leave out --out.")
    new_id = api.add_finetune_case(args.run_dir, args.case, set=args.set or [], iterations=args.iterations,
                                   case_id=args.case_id)
    print(f"added case '{new_id}' to {args.run_dir}: every seed of '{args.case}' fine-tuned, compared with it",
          file=sys.stderr)
    summary = api.run(args.run_dir, workers="auto", data_root=args.data_root, device=args.device,
                      live=False if args.quiet else None, report=False, live_report=False).summary
    write_report(summary.out)
    return 130 if summary.interrupted else (1 if summary.counts.get(Status.FAILED) else 0)


def _print_metrics(title: str, scored: dict) -> None:
    print(title)
    print(f"protocol: {scored['protocol']['id']} (reference: {scored['protocol']['reference']})")
    for name, value in scored["metrics"].items():
        print(f"  {name:22s} {value:12.6g}  {api.metric_direction(name)}")


def cmd_eval(args: argparse.Namespace) -> int:
    if args.real:
        half, scored = api.score_real(args.real, args.split, set=args.set or [], data_root=args.data_root)
        _print_metrics(f"real vs real floor: two halves of a random split (seed 0) of {args.real} {args.split} "
                       f"({half} images each)", scored)
        return 0
    if args.images and not (Path(args.images) / "config.json").is_file():
        if not args.dataset:
            raise GanstudyError("ganstudy eval --images: say which real images they are compared with: --dataset NAME "
                                "(and --split, test by default).")
        n, against, scored = api.score_images(args.images, args.dataset, args.split, set=args.set or [],
                                              data_root=args.data_root)
        _print_metrics(f"{args.images}: {n} images against {against}", scored)
        return 0
    run_dir = args.images or args.run_dir
    if not run_dir:
        raise GanstudyError("ganstudy eval: give a RUN_DIR to score, --images PATH (a folder, .npz or .mat of "
                            "images) with --dataset, or --real DATASET for the real-vs-real floor.")
    checkpoint, scored = api.score_run(run_dir, args.checkpoint, set=args.set or [], data_root=args.data_root)
    _print_metrics(f"{checkpoint}:", scored)
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    card = api.train_evaluator(args.dataset, args.data_root, args.out, epochs=args.epochs, seed=args.seed, log=_log)
    print(f"evaluator for {card['dataset']}: held-out accuracy {100 * card['held_out_accuracy']:.2f}% "
          f"on {card['held_out_data']}; sha256 {card['sha256'][:16]}...")
    return 0
