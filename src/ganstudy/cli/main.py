"""The ``ganstudy`` command: thin sub-commands over the Python API.

A user mistake (a bad key, a missing file) prints one paragraph and exits with status 2;
Ctrl-C exits with 130 after saving what can be resumed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import api
from .._version import __version__
from ..base.errors import GanstudyError
from .run import cmd_eval, cmd_evaluator_train, cmd_finetune, cmd_train
from .study import cmd_add_seeds, cmd_plan, cmd_promote, cmd_report, cmd_run, cmd_status, count_or_auto, workers_arg


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


def cmd_keys(args: argparse.Namespace) -> int:
    for key, default, description in api.keys(args.filter or ""):
        print(f"{key} = {default!r}" + (f"    # {description}" if description else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for name, summary in api.catalog(args.what):
        print(f"{name:15s} {summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganstudy", description="GAN ablation studies with seeds, metrics and verdicts.")
    parser.add_argument("--version", action="version", version=f"ganstudy {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one GAN run", description="Train one run. Defaults reproduce Keras-GAN's gan.py.")
    p.add_argument("config", nargs="?", help="TOML file with [data], [model], [loss], [optim], [train], [eval] sections")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder")
    _add_training_options(p, "override a key, e.g. --set optim.lr=0.001")
    p.add_argument("--threads", type=count_or_auto("threads"), default="auto", metavar="N",
                   help="torch threads, or auto (default): the cores that are free when it starts")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="a module that registers your models, losses, data sets or metrics (repeatable; a study "
                        "names them in [study] imports)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("run", help="run a study: every case x seed not yet done; resumes what was interrupted")
    p.add_argument("study", help="study TOML file, or a study folder to continue")
    p.add_argument("--out", metavar="DIR", help="study folder (default ganstudy-runs/<study file name>)")
    _add_seeds_and_workers(p)
    p.add_argument("--retry-failed", action="store_true",
                   help="give runs that failed 3 times (and were given up) new attempts")
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
    p.add_argument("--watch", action="store_true", help="keep the report current while the study runs (elsewhere, "
                   "e.g. on Ray): rewrite it as runs end, until every run has ended")
    p.add_argument("--every", type=float, default=10.0, metavar="S", help="with --watch: seconds between looks")
    _add_data_root(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("status", help="the runs of a study folder and their states")
    p.add_argument("dir", help="study folder")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("add-seeds", help="add N seeds to a study folder's study (then `ganstudy run DIR`)")
    p.add_argument("dir", help="study folder")
    p.add_argument("n", type=int, help="how many seeds to add")
    p.set_defaults(func=cmd_add_seeds)

    p = sub.add_parser("finetune", help="fine-tune a run from its checkpoint (RUN_DIR --out DIR), or every seed of a "
                       "study's case as a new case of the study (STUDY_DIR CASE)")
    p.add_argument("run_dir", metavar="RUN_DIR|STUDY_DIR", help="run folder to start from, or a study folder")
    p.add_argument("case", nargs="?", help="with a study folder: the case whose runs to fine-tune")
    p.add_argument("--iterations", type=int, metavar="N", help="iterations of the fine-tune")
    p.add_argument("--out", metavar="DIR", help="folder of the new run (a single run's fine-tune)")
    p.add_argument("--id", dest="case_id", metavar="ID", help="id of the new case (default CASE-finetuned)")
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
    p.add_argument("--real", metavar="DATASET", help="the floor: two halves of a random split of this dataset's real images")
    p.add_argument("--images", metavar="PATH", help="score these images (a folder, .npz or .mat; or a run folder) "
                   "against --dataset's real ones")
    p.add_argument("--dataset", metavar="NAME", help="with --images: the dataset whose real images they are compared with")
    p.add_argument("--split", default="test", help="split for --real and --images (default test)")
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

    p = sub.add_parser("plan", help="run without training: every check run makes before it trains, the cases and "
                                    "runs, what the seeds can find, and the time it would take")
    p.add_argument("study", help="study TOML file")
    p.add_argument("--out", metavar="DIR", help="its study folder, as run takes it (checked as run checks it; once it "
                                                "has run, its baseline runs give the power in metric units)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a key in every case (as run does)")
    _add_seeds_and_workers(p)
    p.add_argument("--no-estimate", dest="estimate", action="store_false",
                   help="skip the time estimate (a few timed iterations of each architecture here)")
    _add_data_root(p)
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


def _add_seeds_and_workers(p: argparse.ArgumentParser) -> None:
    """The flags ``run`` and ``plan`` share, so that a plan is of the run the same line would start."""
    p.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1 instead of the study's")
    p.add_argument("--max-seeds", type=int, metavar="N",
                   help="adaptive seeds: cases still undecided get more seeds, up to N")
    p.add_argument("--workers", type=workers_arg, default="auto", metavar="N",
                   help="tasks at once in worker processes, or auto (default): one a core on a CPU, as many as "
                        "there are runs to do and memory allows; 1 on a GPU")


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
