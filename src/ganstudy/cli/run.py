"""The commands of one run: ``ganstudy train``, ``finetune``, ``eval`` and ``evaluator train``.
Each says what it does as it does it, and a user's mistake is one clear error (cli.main)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.errors import GanstudyError
from ..base.status import Status

if TYPE_CHECKING:
    from ..machine.cores import CoreSample


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
    if result.status == Status.INTERRUPTED:
        print(f"Interrupted at iteration {result.iterations}; run the same command with --resume to continue.",
              file=sys.stderr)
        return 130
    if result.status == Status.DIVERGED:
        print(f"Run diverged: {result.reason}. The last good checkpoint is kept in {trainer.dir / 'checkpoints'}.",
              file=sys.stderr)
        return 3
    if result.metrics:
        from ..metrics.registry import get

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
    from ..machine.cores import CoreSample

    cores = CoreSample()  # sampled while the imports below run
    from ..spec.layers import load_config
    from ..training.trainer import Trainer

    if args.imports:
        from ..base.plugins import load

        load(args.imports, [Path.cwd()], source="--import")
    cfg = load_config(args.config, args.set or [])
    _check_out(Path(args.out))  # an impossible --out fails now, not after loading data
    import torch

    from ..machine.cores import use_threads

    before = torch.get_num_threads()  # main() may be called in a process that goes on (tests, a notebook)
    try:
        trainer = Trainer(cfg, Path(args.out), data_root=args.data_root, device=args.device,
                          progress=_progress_bar(sys.stderr.isatty() and not args.quiet),
                          log=_with_first_line(_set_threads(args.threads, cores)))
        return _train_and_report(trainer, args.resume)
    finally:
        use_threads(before)


def _set_threads(threads: int | str, cores: CoreSample) -> str:
    """torch threads for a lone run: the cores that are free now (never more: a busy core stalls
    every thread at each step), or what --threads says. Returns the line that says so."""
    from ..machine.cores import use_threads

    line = f"torch threads: {threads} (--threads)"
    if threads == "auto":
        free, total = cores.free()
        threads = free
        line = f"torch threads: {free} ({free} of {total} core{'s' if total > 1 else ''} free; --threads N to choose)"
    use_threads(int(threads))
    return line


def _with_first_line(first: str):  # noqa: ANN202 - a log function
    """The run's log, saying ``first`` once it starts logging (after the checks that may refuse it)."""
    pending = [first]

    def log(line: str) -> None:
        while pending:
            _log(pending.pop())
        _log(line)
    return log


def cmd_finetune(args: argparse.Namespace) -> int:
    from ..storage.lineage import finetune_config
    from ..training.checkpoints import CHECKPOINT, load
    from ..training.trainer import Trainer

    if args.case:  # every seed of a study's case, as a new case of the study
        return _finetune_case(args)
    if not args.out:
        raise GanstudyError("finetune RUN_DIR: give --out DIR, the new run's folder (or STUDY_DIR CASE to fine-tune "
                            "every seed of a study's case).")
    cfg = finetune_config(args.run_dir, args.set or [], args.iterations)
    load(Path(args.run_dir) / CHECKPOINT)  # a damaged source fails before anything is written
    _check_out(Path(args.out))
    trainer = Trainer(cfg, Path(args.out), data_root=args.data_root, device=args.device, init_from=args.run_dir,
                      progress=_progress_bar(sys.stderr.isatty() and not args.quiet), log=_log)
    return _train_and_report(trainer, args.resume)


def _finetune_case(args: argparse.Namespace) -> int:
    from ..execution.runner import run_study
    from ..storage.lineage import add_finetune_case
    from .study import write_report

    if args.out:
        raise GanstudyError("finetune STUDY_DIR CASE: the new runs go into the study folder; leave out --out.")
    new_id = add_finetune_case(args.run_dir, args.case, args.set or [], args.iterations, args.case_id)
    print(f"added case '{new_id}' to {args.run_dir}: every seed of '{args.case}' fine-tuned, compared with it",
          file=sys.stderr)
    summary = run_study(args.run_dir, workers="auto", data_root=args.data_root, device=args.device,
                        live=False if args.quiet else None)
    write_report(summary.out, args.data_root)
    return 130 if summary.interrupted else (1 if summary.counts.get(Status.FAILED) else 0)


def _print_metrics(title: str, scored: dict) -> None:
    from ..metrics.registry import get

    print(title)
    print(f"protocol: {scored['protocol']['id']} (reference: {scored['protocol']['reference']})")
    for name, value in scored["metrics"].items():
        try:
            arrow = "lower is better" if get(name).lower_is_better else "higher is better"
        except KeyError:
            arrow = ""  # companions such as kid_se
        print(f"  {name:22s} {value:12.6g}  {arrow}")


def cmd_eval(args: argparse.Namespace) -> int:
    if args.real:
        return _eval_real(args)
    if args.images and not (Path(args.images) / "config.json").is_file():
        return _eval_images(args)
    run_dir = args.images or args.run_dir
    if not run_dir:
        raise GanstudyError("ganstudy eval: give a RUN_DIR to score, --images PATH (a folder, .npz or .mat of "
                            "images) with --dataset, or --real DATASET for the real-vs-real floor.")
    from ..data.prepare import load_training_data
    from ..spec.config import flatten
    from ..spec.layers import Layer, build_config, parse_overrides
    from ..training.runfolder import load_generator
    from ..training.sampler import derive_seed
    from ..training.scoring import evaluate, scoring_setup

    g, cfg = load_generator(run_dir, args.checkpoint)
    if args.set:
        cfg = build_config([Layer("config.json", flatten(cfg.model_dump(mode="json"))), parse_overrides(args.set)])
    checkpoint = args.checkpoint or Path(run_dir) / "checkpoints" / "last.pt"
    evaluator, reference = scoring_setup(cfg, load_training_data(cfg.data, args.data_root), args.data_root)
    scored = evaluate(g, cfg, evaluator, reference, derive_seed(cfg.train.seed, "eval", cfg.eval.seed))
    _print_metrics(f"{checkpoint}:", scored)
    return 0


def _eval_config(args: argparse.Namespace, dataset: str):  # noqa: ANN202 - a RunConfig
    from ..spec.layers import load_config

    return load_config(None, [f"data.dataset={dataset}", f"data.split={args.split}"] + (args.set or []))


def _eval_real(args: argparse.Namespace) -> int:
    """The floor: two halves of a random split (seed 0) of one split of real images. Halves
    in file order would compare different writers, photographers or sources (MNIST's test
    digits 0-4999 and 5000-9999 are by different people: FID 19.6 against 2.0)."""
    import numpy as np

    from ..data.registry import load_split
    from ..metrics.reference import reference_stats
    from ..metrics.registry import score_images
    from ..training.scoring import evaluator_for

    cfg = _eval_config(args, args.real)
    part = load_split(args.real, args.split, Path(args.data_root) if args.data_root else None, cfg.data.path,
                      cfg.data.image_size)
    order = np.random.default_rng(0).permutation(len(part))
    half = min(len(part) // 2, cfg.eval.reference_samples)
    a, b = part.images[order[:half]], part.images[order[half : 2 * half]]
    description = f"{args.real} {args.split} split, a random half (seed 0) of {2 * half} images"
    evaluator = evaluator_for(cfg, a, description)
    reference = reference_stats(evaluator, a, None if part.labels is None else part.labels[order[:half]], description)
    scored = score_images(evaluator, reference, b, cfg.eval.metrics)
    _print_metrics(f"real vs real floor: two halves of a random split (seed 0) of {args.real} {args.split} "
                   f"({half} images each)", scored)
    return 0


def _eval_images(args: argparse.Namespace) -> int:
    """Images from anywhere (a folder, an .npz, a .mat) scored against a dataset's real images."""
    from ..data.files import conform, load_images
    from ..data.prepare import load_training_data
    from ..data.registry import load_split
    from ..metrics.registry import score_images
    from ..training.scoring import scoring_setup

    if not args.dataset:
        raise GanstudyError("ganstudy eval --images: say which real images they are compared with: --dataset NAME "
                            "(and --split, test by default).")
    cfg = _eval_config(args, args.dataset)
    data = load_training_data(cfg.data, args.data_root) if cfg.eval.reference == "holdout" else None
    evaluator, reference = scoring_setup(cfg, data, args.data_root)
    real = load_split(args.dataset, args.split, Path(args.data_root) if args.data_root else None, cfg.data.path,
                      cfg.data.image_size)
    images = conform(load_images(Path(args.images)), real.shape, f"--images {args.images}")  # to the dataset's size
    scored = score_images(evaluator, reference, images, cfg.eval.metrics)
    _print_metrics(f"{args.images}: {len(images)} images against {reference.description}", scored)
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    from ..metrics.evaluator import train

    card = train(args.dataset, args.data_root, args.out, epochs=args.epochs, seed=args.seed,
                 log=lambda line: print(line, file=sys.stderr))
    print(f"evaluator for {card['dataset']}: held-out accuracy {100 * card['held_out_accuracy']:.2f}% "
          f"on {card['held_out_data']}; sha256 {card['sha256'][:16]}...")
    return 0
