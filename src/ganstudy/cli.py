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


def cmd_train(args: argparse.Namespace) -> int:
    from .config import load_config
    from .train import Trainer

    cfg = load_config(args.config, args.set or [])
    out = Path(args.out)
    trainer = Trainer(cfg, out, data_root=args.data_root, device=args.device,
                      progress=_progress_bar(sys.stderr.isatty() and not args.quiet))
    result = trainer.run(resume=args.resume)
    print(f"data: {trainer.data.description}", file=sys.stderr)
    if result.summary:
        print(result.summary)
    if result.status == "interrupted":
        print(f"Interrupted at iteration {result.iterations}; run the same command with --resume to continue.",
              file=sys.stderr)
        return 130
    if result.status == "diverged":
        print(f"Run diverged: {result.reason}. The last good checkpoint is kept in {out / 'checkpoints'}.",
              file=sys.stderr)
        return 3
    print(f"{result.status}: {result.iterations} iterations in {result.wall_seconds:.1f}s; outputs in {out}",
          file=sys.stderr)
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
    print(f"study {study.meta.name!r}: {len(study.cases) - 1} cases + baseline, seeds {study.seeds}, "
          f"primary metric {study.meta.metric}")
    print(_table(rows, ("case", "title", "changes", "runs"), width))
    runs = study.runs()
    total = len(study.cases) * len(study.seeds)
    print(f"{len(runs)} runs to train ({total} case x seed pairs; {total - len(runs)} shared with identical training)")
    return 0


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
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key, e.g. --set optim.lr=0.001")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_data_root(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("plan", help="validate a study file and show its cases and runs")
    p.add_argument("study", help="study TOML file")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("keys", help="list every config key with its default")
    p.add_argument("filter", nargs="?", help="only keys containing this text")
    p.set_defaults(func=cmd_keys)

    for what in ("datasets", "archs", "losses"):
        p = sub.add_parser(what, help=f"list the registered {what}")
        p.set_defaults(func=cmd_list, what=what)
    return parser


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
