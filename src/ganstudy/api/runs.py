"""One run, from Python and for the CLI: train it, fine-tune it, score it (or any images, or
real against real), train an evaluator network. Each function returns values; printing is
the caller's (``cli/run.py`` prints what these return)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.errors import GanstudyError

Log = Callable[[str], None]
Progress = Callable[[int, int, dict[str, float]], None]


@dataclass
class TrainedRun:
    """What ``train`` / ``finetune`` did: the run's result and its folder."""

    result: Any  # training.runfolder.RunResult
    folder: Path


def check_out(out: Path) -> None:
    """Can ``out`` be the run's folder? Checked before anything is loaded, and nothing is created."""
    if out.exists() and not out.is_dir():
        raise GanstudyError(f"--out {out}: a file stands there; give a folder.")
    first = out.absolute()
    while not first.exists():
        first = first.parent
    if not first.is_dir():
        raise GanstudyError(f"--out {out}: {first} is a file, so no folder can be made under it; give another --out.")
    if not os.access(first, os.W_OK):
        raise GanstudyError(f"--out {out}: {first} cannot be written; give a folder you can write to.")


def train(config: str | Path | None, out: str | Path, *, set: Sequence[str] = (), resume: bool = False,  # noqa: A002
          data_root: str | Path | None = None, device: str = "auto", threads: int | str = "auto",
          imports: Sequence[str] = (), progress: Progress | None = None, log: Log | None = None) -> TrainedRun:
    """One run of ``config`` (a TOML file, or the defaults) with ``set`` applied, in ``out``
    (``ganstudy train``). ``threads="auto"`` takes the cores that are free now; the caller's
    torch threads are restored afterwards."""
    from ..machine.cores import CoreSample

    cores = CoreSample()  # sampled while the imports below run
    import torch

    from ..base.plugins import load
    from ..machine.cores import use_threads
    from ..spec.layers import load_config
    from ..training.trainer import Trainer

    if imports:
        load(imports, [Path.cwd()], source="--import")
    cfg = load_config(config, list(set))
    check_out(Path(out))  # an impossible --out fails now, not after loading data
    before = torch.get_num_threads()  # a process that goes on (tests, a notebook) keeps its setting
    try:
        line = f"torch threads: {threads} (--threads)"
        if threads == "auto":
            free, total = cores.free()
            threads = free
            line = f"torch threads: {free} ({free} of {total} core{'s' if total > 1 else ''} free; --threads N to choose)"
        use_threads(int(threads))
        trainer = Trainer(cfg, Path(out), data_root=data_root, device=device, progress=progress,
                          log=_with_first_line(line, log) if log else None)
        return TrainedRun(trainer.run(resume=resume), trainer.dir)
    finally:
        use_threads(before)


def _with_first_line(first: str, log: Log) -> Log:
    """The run's log, saying ``first`` once it starts logging (after the checks that may refuse it)."""
    pending = [first]

    def say(line: str) -> None:
        while pending:
            log(pending.pop())
        log(line)
    return say


def finetune(run_dir: str | Path, out: str | Path, *, set: Sequence[str] = (), iterations: int | None = None,  # noqa: A002
             resume: bool = False, data_root: str | Path | None = None, device: str = "auto",
             progress: Progress | None = None, log: Log | None = None) -> TrainedRun:
    """A new run in ``out`` that starts from ``run_dir``'s weights and Adam moments, with
    ``set`` changed and a fresh schedule (``ganstudy finetune RUN_DIR --out``)."""
    from ..storage.lineage import finetune_config
    from ..training.checkpoints import CHECKPOINT, load
    from ..training.trainer import Trainer

    cfg = finetune_config(run_dir, list(set), iterations)
    load(Path(run_dir) / CHECKPOINT)  # a damaged source fails before anything is written
    check_out(Path(out))
    trainer = Trainer(cfg, Path(out), data_root=data_root, device=device, init_from=run_dir, progress=progress,
                      log=log)
    return TrainedRun(trainer.run(resume=resume), trainer.dir)


def add_finetune_case(folder: str | Path, case: str, *, set: Sequence[str] = (), iterations: int | None = None,  # noqa: A002
                      case_id: str | None = None) -> str:
    """Add a case to a study folder: every seed of ``case`` fine-tuned with ``set``, compared
    with it. Returns the new case's id; ``run(folder)`` trains it."""
    from ..storage.lineage import add_finetune_case as add

    return add(folder, case, list(set), iterations, case_id)


def metric_direction(name: str) -> str:
    """"lower is better", "higher is better", or "" for a companion figure (kid_se)."""
    from ..metrics.registry import get

    try:
        return "lower is better" if get(name).lower_is_better else "higher is better"
    except KeyError:
        return ""


def score_run(run_dir: str | Path, checkpoint: str | Path | None = None, *, set: Sequence[str] = (),  # noqa: A002
              data_root: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """A run's generator (its last checkpoint, or ``checkpoint``) scored as the run would be,
    with ``set`` changing the scoring (``ganstudy eval RUN_DIR``): (the checkpoint, scores)."""
    from ..data.prepare import load_training_data
    from ..spec.config import flatten
    from ..spec.layers import Layer, build_config, parse_overrides
    from ..training.runfolder import load_generator
    from ..training.sampler import derive_seed
    from ..training.scoring import evaluate, scoring_setup

    g, cfg = load_generator(run_dir, checkpoint)
    if set:
        cfg = build_config([Layer("config.json", flatten(cfg.model_dump(mode="json"))), parse_overrides(list(set))])
    evaluator, reference = scoring_setup(cfg, load_training_data(cfg.data, data_root), data_root)
    scored = evaluate(g, cfg, evaluator, reference, derive_seed(cfg.train.seed, "eval", cfg.eval.seed))
    return Path(checkpoint) if checkpoint else Path(run_dir) / "checkpoints" / "last.pt", scored


def _eval_config(dataset: str, split: str, set: Sequence[str]):  # noqa: A002, ANN202 - a RunConfig
    from ..spec.layers import load_config

    return load_config(None, [f"data.dataset={dataset}", f"data.split={split}", *set])


def score_real(dataset: str, split: str = "test", *, set: Sequence[str] = (),  # noqa: A002
               data_root: str | Path | None = None) -> tuple[int, dict[str, Any]]:
    """The floor: two halves of a random split (seed 0) of one split of real images scored
    against each other (``ganstudy eval --real``): (images in each half, scores). Halves in
    file order would compare different writers, photographers or sources (MNIST's test digits
    0-4999 and 5000-9999 are by different people: FID 19.6 against 2.0)."""
    import numpy as np

    from ..data.registry import load_split
    from ..metrics.reference import reference_stats
    from ..metrics.registry import score_images as score
    from ..training.scoring import evaluator_for

    cfg = _eval_config(dataset, split, set)
    part = load_split(dataset, split, Path(data_root) if data_root else None, cfg.data.path, cfg.data.image_size)
    order = np.random.default_rng(0).permutation(len(part))
    half = min(len(part) // 2, cfg.eval.reference_samples)
    a, b = part.images[order[:half]], part.images[order[half : 2 * half]]
    description = f"{dataset} {split} split, a random half (seed 0) of {2 * half} images"
    evaluator = evaluator_for(cfg, a, description)
    reference = reference_stats(evaluator, a, None if part.labels is None else part.labels[order[:half]], description)
    return half, score(evaluator, reference, b, cfg.eval.metrics)


def score_images(images: str | Path, dataset: str, split: str = "test", *, set: Sequence[str] = (),  # noqa: A002
                 data_root: str | Path | None = None) -> tuple[int, str, dict[str, Any]]:
    """Images from anywhere (a folder, an .npz, a .mat) scored against a dataset's real images
    (``ganstudy eval --images``): (how many, what they were compared with, scores)."""
    from ..data.files import conform, load_images
    from ..data.prepare import load_training_data
    from ..data.registry import load_split
    from ..metrics.registry import score_images as score
    from ..training.scoring import scoring_setup

    cfg = _eval_config(dataset, split, set)
    data = load_training_data(cfg.data, data_root) if cfg.eval.reference == "holdout" else None
    evaluator, reference = scoring_setup(cfg, data, data_root)
    real = load_split(dataset, split, Path(data_root) if data_root else None, cfg.data.path, cfg.data.image_size)
    pixels = conform(load_images(Path(images)), real.shape, f"--images {images}")  # to the dataset's size
    return len(pixels), reference.description, score(evaluator, reference, pixels, cfg.eval.metrics)


def train_evaluator(dataset: str, data_root: str | Path | None = None, out: str | Path | None = None, *,
                    epochs: int | None = None, seed: int = 0, log: Log | None = None) -> dict[str, Any]:
    """Train the evaluator network of ``dataset`` (``ganstudy evaluator train``); returns its card."""
    from ..metrics.evaluator import train as train_network

    return train_network(dataset, data_root, out, epochs=epochs, seed=seed, log=log or print)
