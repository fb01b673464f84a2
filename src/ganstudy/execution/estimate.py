"""What a study will cost on this machine, before it runs (``ganstudy plan``).

Each distinct architecture (what sets a step's arithmetic: the model, the data's shape, the
batch, the step style, the precision, the loss's penalty) trains a few iterations here, one
thread as a study's worker has, and is scored once at the study's protocol; the study's
runs are then summed and shared between its workers. An adaptive study gets a range: every
case at its first look's seeds, and every case at its most.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..spec.config import RunConfig
from ..spec.study import Study
from ..training.phases import seconds_text

#: A worker process's start: the interpreter, torch and ganstudy imported (measured ~3 s here).
STARTUP = 3.0
#: Keys that decide how long a step takes; the rest (rates, scales, seeds) do not.
SPEED_SECTIONS = ("model",)
SPEED_KEYS = ("data.dataset", "data.image_size", "train.batch_size", "train.step_style", "train.d_steps",
              "train.precision", "train.d_learns_in_g_step", "train.g_fresh_noise", "loss.kind")


def speed_key(cfg: RunConfig) -> str:
    flat = cfg.flat()
    keys = {k: v for k, v in flat.items() if k.split(".")[0] in SPEED_SECTIONS or k in SPEED_KEYS}
    return json.dumps(keys, sort_keys=True)


@dataclass
class Calibration:
    arch: str
    step_seconds: float  # one training iteration, one thread
    fixed_seconds: float  # a run's set-up (data, networks), its curve's points and its final scoring


def _trainer(cfg: RunConfig, folder: str, data_root: str | Path | None):  # noqa: ANN202 - a Trainer
    from ..training.trainer import Trainer

    trainer = Trainer(cfg, folder, data_root=data_root, device="cpu")
    trainer.prepare(resume=False)
    return trainer


def _steps(trainer, n: int) -> float:  # noqa: ANN001 - a Trainer
    """Seconds per iteration over ``n`` steps (after two of warm-up)."""
    from ..training.loop import autocast, real_batches
    from ..training.steps import STEP_STYLES

    step = STEP_STYLES[trainer.cfg.train.step_style]
    batch = real_batches([trainer.sampler], trainer.state)
    with autocast(trainer.cfg.train.precision, trainer.state.device):
        for i in range(n + 2):
            if i == 2:
                start = time.perf_counter()
            step(trainer.state, batch).tolist()
    return (time.perf_counter() - start) / n


def _neighbours(cfg: RunConfig, data_root: str | Path | None, n: int) -> list[subprocess.Popen]:
    """``n`` processes stepping the same config, as a study's other workers would, so the
    timed one shares the memory bandwidth and caches the way it will."""
    procs = []
    for _ in range(n):
        proc = subprocess.Popen([sys.executable, "-m", "ganstudy.execution.estimate", cfg.model_dump_json(), str(data_root or "")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(proc)
    for proc in procs:
        proc.stdout.readline()  # "ready": it is stepping
    return procs


def calibrate(cfg: RunConfig, data_root: str | Path | None, workers: int = 1, steps: int = 8) -> Calibration:
    """Time ``steps`` iterations of ``cfg`` on one thread beside ``workers - 1`` others like it,
    and one run's set-up and scoring."""
    from ..machine.cores import use_threads
    from ..training.scoring import curve_shares_final

    threads = use_threads(1)  # as a study's worker: torch and the scoring's BLAS on one thread
    neighbours = _neighbours(cfg, data_root, workers - 1) if workers > 1 else []
    try:
        with tempfile.TemporaryDirectory(prefix="ganstudy-estimate-") as tmp:
            start = time.perf_counter()
            trainer = _trainer(cfg, tmp, data_root)
            setup = time.perf_counter() - start
            per_step = _steps(trainer, steps)
            start = time.perf_counter()
            trainer.evaluate(0, final=True)
            scoring = time.perf_counter() - start
            if cfg.eval.metrics and (cfg.eval.curve_points or cfg.eval.every):
                start = time.perf_counter()
                trainer.evaluate(0, curve=True)  # a point of the curve (or of eval.every), on its smaller sample
                shared = curve_shares_final(cfg.eval)  # then its last point costs the final score nothing more
                points = cfg.eval.curve_points - shared + (trainer.total // cfg.eval.every if cfg.eval.every else 0)
                scoring += points * (time.perf_counter() - start)
    finally:
        for proc in neighbours:
            proc.kill()
            proc.wait()
        use_threads(threads)
    return Calibration(cfg.model.arch, per_step, setup + scoring)


@dataclass
class Estimate:
    low: float  # seconds of wall time: the first look (or the whole study with fixed seeds)
    high: float  # every case to its most seeds
    workers: int
    calibrations: list[Calibration]

    def lines(self) -> list[str]:
        by_arch: dict[str, list[Calibration]] = {}
        for c in self.calibrations:
            by_arch.setdefault(c.arch, []).append(c)
        rate = ", ".join(f"{arch} {_span([1000 * c.step_seconds for c in cs])} ms/iteration + "
                         f"{_span([c.fixed_seconds for c in cs])} s a run"
                         + (f" ({len(cs)} variants)" if len(cs) > 1 else "") for arch, cs in by_arch.items())
        span = duration(self.low) if math.isclose(self.low, self.high, rel_tol=0.02) else \
            f"{duration(self.low)} (every case at its first seeds) to {duration(self.high)} (every case to its most)"
        return [f"estimated time on this machine: {span}, with {self.workers} worker process"
                f"{'es' if self.workers > 1 else ''} (measured here: {rate}; one thread each)"]


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.3g}" if math.isclose(low, high, rel_tol=0.05) else f"{low:.3g}-{high:.3g}"


def duration(seconds: float) -> str:
    """An estimated time: a measured one's text, marked as approximate."""
    return "~" + seconds_text(seconds)


def estimate(study: Study, data_root: str | Path | None = None, workers: int | None = None) -> Estimate:
    """The study's wall time here: every distinct run, at its calibrated speed, over the workers."""
    from .runner import auto_workers

    specs = study.runs()
    workers = workers or auto_workers(len(specs), "cpu")
    calibrated: dict[str, Calibration] = {}
    cost: dict[str, float] = {}
    for spec in specs:
        key = speed_key(spec.config)
        if key not in calibrated:
            calibrated[key] = calibrate(spec.config, data_root, min(workers, len(specs)))
        c = calibrated[key]
        cfg = spec.config.train
        iterations = cfg.iterations or _epoch_iterations(spec.config, data_root)
        cost[f"{spec.case}/{spec.seed}"] = iterations * c.step_seconds + c.fixed_seconds
    design = study.design()
    first = {p.id: study.case_seeds(p.id)[: design.baseline_looks[0] if p.id == "baseline" else design.looks[0]]
             for p in study.cases}
    low = sum(v for k, v in cost.items() if int(k.rsplit("/", 1)[1]) in first[k.rsplit("/", 1)[0]])
    high = sum(cost.values())
    # Runs are whole: the wall time is at least the longest run, and otherwise shared out.
    longest = max(cost.values(), default=0.0)
    start = STARTUP  # each worker's interpreter and imports, once (they start together)
    return Estimate(max(low / workers, longest) + start, max(high / workers, longest) + start, workers,
                    list(calibrated.values()))


def _neighbour(config_json: str, data_root: str) -> None:
    """A neighbour for :func:`calibrate`: step until killed."""
    from ..machine.cores import use_threads

    use_threads(1)
    with tempfile.TemporaryDirectory(prefix="ganstudy-estimate-") as tmp:
        trainer = _trainer(RunConfig.model_validate_json(config_json), tmp, data_root or None)
        _steps(trainer, 2)
        print("ready", flush=True)
        while True:
            _steps(trainer, 50)


def _epoch_iterations(cfg: RunConfig, data_root: str | Path | None) -> int:
    from ..data.prepare import load_training_data

    data = load_training_data(cfg.data, data_root)
    return cfg.train.epochs * max(1, len(data.train) // cfg.train.batch_size)


if __name__ == "__main__":
    _neighbour(sys.argv[1], sys.argv[2])
