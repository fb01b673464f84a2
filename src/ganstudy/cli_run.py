"""The commands of one run: ``ganstudy train``, ``finetune``, ``eval`` and ``evaluator train``.
Each says what it does as it does it, and a user's mistake is one clear error (cli.main)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import GanstudyError


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
